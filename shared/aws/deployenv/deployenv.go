// Package deployenv is the contract between the CDK stack (infra/stack) and
// the Lambda functions (shared/aws/lambdahost): the functions' names and the
// environment variables the stack sets on them. Both sides read these
// constants, so a renamed variable cannot silently break a deployment.
package deployenv

// Function names: the folders under functions/, built to
// <assetDir>/<name>/bootstrap, and the stack's function names.
const (
	API        = "api"
	Webhooks   = "webhooks"
	Dispatcher = "dispatcher"
	Task       = "task"
	Sweeper    = "sweeper"
	// Relay publishes the transactional outbox: the table's DynamoDB stream
	// to the EventBridge bus.
	Relay = "relay"
)

// Functions lists every function, in the stack's creation order.
var Functions = []string{API, Webhooks, Dispatcher, Task, Sweeper, Relay}

// Environment variables the stack sets on the functions.
const (
	TableName             = "TABLE_NAME"
	EventBusName          = "EVENT_BUS_NAME"
	SecretsPrefix         = "SECRETS_PREFIX"
	SessionHours          = "SESSION_HOURS"
	SessionWarningMinutes = "SESSION_WARNING_MINUTES"
	TaskFunctionARN       = "TASK_FUNCTION_ARN"
	StateMachineRoleARN   = "STATE_MACHINE_ROLE_ARN"
	StateMachinePrefix    = "STATE_MACHINE_PREFIX"
	StateMachineARNPrefix = "STATE_MACHINE_ARN_PREFIX"
	StateMachineLogGroup  = "STATE_MACHINE_LOG_GROUP_ARN"
	// ConfigCacheSeconds is how long, in whole seconds (0 = off), a warm
	// function instance keeps the channels, published workflows and teams it
	// read: another instance's change to them is seen after at most that
	// long. The stack sets it on the webhooks, dispatcher, task and sweeper
	// functions, never on the api function (people editing configuration
	// there read their own changes at once).
	ConfigCacheSeconds = "CONFIG_CACHE_SECONDS"
	// DefaultConfigCacheSeconds is the stack's default ConfigCacheSeconds
	// (its configCacheSeconds context key), which the cost report assumes.
	DefaultConfigCacheSeconds = 10
	// AuthSubjectClaim is not set by the stack: operators may add it to the
	// api function to read the agent id from another claim than "sub".
	AuthSubjectClaim = "AUTH_SUBJECT_CLAIM"
)
