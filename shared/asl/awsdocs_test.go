package asl

import "testing"

// The input and output processing examples of the AWS Step Functions
// Developer Guide ("InputPath, Parameters and ResultSelector", "Specifying
// state output using ResultPath", "Filtering state output using
// OutputPath"), run as Task states whose invoker returns the documented
// function result.
func TestAWSDocumentedPathExamples(t *testing.T) {
	tests := []struct {
		name   string
		fields string // the Task state's processing fields
		input  string
		result string // what the function returns
		params string // the effective input the function receives
		output string
	}{
		{
			name:   "InputPath selects a dataset",
			fields: `"InputPath": "$.dataset2"`,
			input:  `{"comment": "Example for InputPath.", "dataset1": {"val1": 1, "val2": 2, "val3": 3}, "dataset2": {"val1": "a", "val2": "b", "val3": "c"}}`,
			result: `"ok"`,
			params: `{"val1": "a", "val2": "b", "val3": "c"}`,
			output: `"ok"`,
		},
		{
			name: "Parameters with static and path fields",
			fields: `"Parameters": {"comment": "Selecting what I care about.",
			  "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}}`,
			input:  `{"comment": "Example for Parameters.", "product": {"details": {"color": "blue", "size": "small", "material": "cotton"}, "availability": "in stock", "sku": "2317", "cost": "$23"}}`,
			result: `{}`,
			params: `{"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}}`,
			output: `{}`,
		},
		{
			name:   "ResultSelector picks from a service result, ResultPath adds it to the input",
			fields: `"ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, "ResultPath": "$.EMROutput"`,
			input:  `{"cluster": "demo"}`,
			result: `{"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": {"SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112", "Content-Type": "application/x-amz-JSON-1.1"}, "HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234-5678-9012"}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}}`,
			params: `{"cluster": "demo"}`,
			output: `{"cluster": "demo", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}}`,
		},
		{
			name:   "ResultPath $ (default) replaces the input",
			fields: `"ResultPath": "$"`,
			input:  `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			output: `"Hello, AWS Step Functions!"`,
		},
		{
			name:   "ResultPath null discards the result",
			fields: `"ResultPath": null`,
			input:  `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			output: `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
		},
		{
			name:   "ResultPath includes the result with the input",
			fields: `"ResultPath": "$.taskresult"`,
			input:  `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}`,
			output: `{"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions", "taskresult": "Hello, AWS Step Functions!"}`,
		},
		{
			name:   "InputPath for the task, ResultPath into a nested node of the raw input",
			fields: `"InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult"`,
			input:  `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"who": "AWS Step Functions"}`,
			output: `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}}`,
		},
		{
			name:   "OutputPath filters the combined output",
			fields: `"InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data"`,
			input:  `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "extra": "foo", "lambda": {"who": "AWS Step Functions"}}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"who": "AWS Step Functions"}`,
			output: `{"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}`,
		},
		{
			name:   "ResultPath creates missing parents",
			fields: `"ResultPath": "$.strings.lambdaresult"`,
			input:  `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17}}`,
			result: `"Hello, AWS Step Functions!"`,
			params: `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17}}`,
			output: `{"comment": "An input comment.", "data": {"val1": 23, "val2": 17}, "strings": {"lambdaresult": "Hello, AWS Step Functions!"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.inv.returns("T", tc.result)
			def := `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction", ` + tc.fields + `, "End": true}}}`
			ex := h.start("doc", def, tc.input)
			wantStatus(t, ex, StatusSucceeded)
			calls := h.inv.callsTo("T")
			if len(calls) != 1 {
				t.Fatalf("task called %d times", len(calls))
			}
			mustJSONEqual(t, "task input", calls[0].Parameters, tc.params)
			mustJSONEqual(t, "output", ex.Output, tc.output)
		})
	}
}
