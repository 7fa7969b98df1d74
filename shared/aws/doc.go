// Package aws holds nothing itself: its subpackages adapt Switchboard to AWS.
//
//   - apigw: API Gateway HTTP API (payload format 2.0) events to and from an http.Handler
//   - eventbus: events.Publisher over EventBridge PutEvents, and EventBridge events back to events.Event
//   - sfn: flows.Runner over Step Functions
//   - secrets: providers.Secrets over Secrets Manager ("aws:<name>")
//   - lambdahost: the composition root of the Lambda functions (functions/<name>)
//
// Every AWS error is translated to a *routing.Error at these boundaries.
package aws
