package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

func TestParseAcceptsSupportedDefinition(t *testing.T) {
	def := `{
	  "Comment": "every supported state",
	  "StartAt": "Load",
	  "TimeoutSeconds": 3600,
	  "States": {
	    "Load": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
	      "Parameters": {"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "snapshot", "state.$": "$", "id.$": "States.UUID()"}},
	      "ResultSelector": {"r.$": "$.Payload"}, "ResultPath": "$.ctx", "TimeoutSeconds": 30,
	      "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2, "MaxDelaySeconds": 10, "JitterStrategy": "NONE"}],
	      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Record"}],
	      "Next": "Route"},
	    "Route": {"Type": "Choice", "Choices": [
	        {"And": [{"Variable": "$.ctx.r.open", "IsPresent": true}, {"Not": {"Variable": "$.ctx.r.open", "BooleanEquals": false}}], "Next": "Pause"},
	        {"Variable": "$.ctx.r.when", "TimestampLessThanEqualsPath": "$.ctx.r.now", "Next": "Ask"}],
	      "Default": "Done"},
	    "Pause": {"Type": "Wait", "SecondsPath": "$.ctx.r.delay", "Next": "Ask"},
	    "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
	      "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
	      "HeartbeatSeconds": 60, "TimeoutSeconds": 600, "ResultPath": "$.vars.answer", "Next": "Shape"},
	    "Shape": {"Type": "Pass", "Parameters": {"a.$": "States.Format('x{}', $.vars.answer)"}, "ResultPath": null, "Next": "Done"},
	    "Record": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "States.Format('failed: {}', $.error.Cause)"},
	    "Done": {"Type": "Succeed", "OutputPath": "$.ctx"}
	  }
	}`
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.StartAt() != "Load" || m.StateType("Route") != TypeChoice || m.Resource("Ask") != ResourceLambdaInvokeWaitToken {
		t.Errorf("machine = start %q, Route %q, Ask %q", m.StartAt(), m.StateType("Route"), m.Resource("Ask"))
	}
	if got := len(m.StateNames()); got != 7 {
		t.Errorf("StateNames has %d names, want 7", got)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, def, field, msg string
	}{
		{"not json", `{`, "definition", "not valid JSON"},
		{"no StartAt", `{"States": {"A": {"Type": "Succeed"}}}`, "StartAt", "StartAt"},
		{"StartAt unknown", `{"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}`, "StartAt", `"B"`},
		{"unknown top field", `{"StartAt": "A", "Foo": 1, "States": {"A": {"Type": "Succeed"}}}`, "Foo", "unknown"},
		{"jsonata", `{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}`, "QueryLanguage", "JSONPath"},
		{"missing next", `{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}`, "States.A.Next", "missing Next"},
		{"next and end", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}}}`, "States.A.Next", "both"},
		{"dangling next", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}}}`, "States.A.Next", `"Nope"`},
		{"unreachable", `{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}`, "States.B", "not reachable"},
		{"unknown field", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Resource": "x"}}}`, "States.A.Resource", "not supported"},
		{"assign", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Assign": {"x": 1}}}}`, "States.A.Assign", "not supported"},
		{"parallel", `{"StartAt": "A", "States": {"A": {"Type": "Parallel", "Branches": [], "End": true}}}`, "States.A.Type", "Parallel"},
		{"map", `{"StartAt": "A", "States": {"A": {"Type": "Map", "End": true}}}`, "States.A.Type", "Map"},
		{"unknown type", `{"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": true}}}`, "States.A.Type", "Sleep"},
		{"task without resource", `{"StartAt": "A", "States": {"A": {"Type": "Task", "End": true}}}`, "States.A.Resource", "missing"},
		{"bad path", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "a.b", "End": true}}}`, "States.A.InputPath", "must start"},
		{"wildcard result path", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}}}`, "States.A.ResultPath", "reference path"},
		{"bad parameter path", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "nope"}, "End": true}}}`, "States.A.Parameters", `"x.$"`},
		{"unknown intrinsic", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope(1)"}, "End": true}}}`, "States.A.Parameters", "unknown function"},
		{"math random", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.MathRandom(1, 9)"}, "End": true}}}`, "States.A.Parameters", "not supported"},
		{"intrinsic arity", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.MathAdd(1)"}, "End": true}}}`, "States.A.Parameters", "2 arguments"},
		{"wait without duration", `{"StartAt": "A", "States": {"A": {"Type": "Wait", "End": true}}}`, "States.A.Seconds", "exactly one"},
		{"wait two durations", `{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}`, "States.A.Seconds", "exactly one"},
		{"wait bad timestamp", `{"StartAt": "A", "States": {"A": {"Type": "Wait", "Timestamp": "tomorrow", "End": true}}}`, "States.A.Timestamp", "RFC 3339"},
		{"choice without rules", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": []}}}`, "States.A.Choices", "non-empty"},
		{"choice rule without next", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true}]}}}`, "States.A.Choices[0]", "missing Next"},
		{"choice two operators", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "IsString": true, "Next": "A"}]}}}`, "States.A.Choices[0]", "exactly one operator"},
		{"choice wrong operand", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "A"}]}}}`, "States.A.Choices[0]", "number"},
		{"choice nested next", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsNull": true, "Next": "A"}, "Next": "A"}]}}}`, "States.A.Choices[0]", "top-level"},
		{"choice end", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}], "End": true}}}`, "States.A.End", "not supported"},
		{"choice default dangling", `{"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}], "Default": "Z"}}}`, "States.A.Default", `"Z"`},
		{"retry all not last", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}`, "States.A.Retry[0].ErrorEquals", "States.ALL"},
		{"retry bad backoff", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}}}`, "States.A.Retry[0].BackoffRate", "1.0"},
		{"catch without next", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["X"]}]}}}`, "States.A.Catch[0].Next", "missing"},
		{"catch dangling", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "Catch": [{"ErrorEquals": ["X"], "Next": "Q"}]}}}`, "States.A.Catch[0].Next", `"Q"`},
		{"heartbeat too long", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "TimeoutSeconds": 10, "HeartbeatSeconds": 10}}}`, "States.A.HeartbeatSeconds", "smaller"},
		{"timeout not positive", `{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true, "TimeoutSeconds": 0}}}`, "States.A.TimeoutSeconds", "positive"},
		{"fail error and path", `{"StartAt": "A", "States": {"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}}`, "States.A.ErrorPath", "Error"},
		{"long state name", `{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "` + strings.Repeat("x", 81) + `"}, "` + strings.Repeat("x", 81) + `": {"Type": "Succeed"}}}`, "States." + strings.Repeat("x", 81), "80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.def))
			var re *routing.Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse error = %v, want a *routing.Error", err)
			}
			if re.Code != routing.CodeInvalid || re.Field != tc.field || !strings.Contains(re.Message, tc.msg) {
				t.Errorf("Parse error = code %s field %q message %q; want field %q containing %q", re.Code, re.Field, re.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestParseErrorNamesState(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt": "Ask", "States": {"Ask": {"Type": "Task", "Resource": "r", "Nxt": "B"}}}`))
	if err == nil || !strings.Contains(err.Error(), `state "Ask"`) {
		t.Fatalf("error %v does not name the state", err)
	}
}

func TestPaths(t *testing.T) {
	doc, _ := decodeValue([]byte(`{"a": {"b": [10, {"c": "deep"}], "x y": 1}, "list": [{"n": 1}, {"n": 2}]}`))
	tests := []struct {
		path  string
		want  string
		found bool
	}{
		{"$", `{"a": {"b": [10, {"c": "deep"}], "x y": 1}, "list": [{"n": 1}, {"n": 2}]}`, true},
		{"$.a.b[0]", `10`, true},
		{"$.a.b[1].c", `"deep"`, true},
		{"$['a']['x y']", `1`, true},
		{`$["a"].b[-1].c`, `"deep"`, true},
		{"$.a.missing", ``, false},
		{"$.a.b[5]", ``, false},
		{"$.list[*].n", `[1, 2]`, true},
		{"$.list.*.n", `[1, 2]`, true},
		{"$.nothing[*]", `[]`, true},
	}
	for _, tc := range tests {
		p, err := parsePath(tc.path, false)
		if err != nil {
			t.Errorf("parsePath(%q): %v", tc.path, err)
			continue
		}
		got, ok := p.get(doc, nil)
		if ok != tc.found {
			t.Errorf("get(%q) found = %v, want %v", tc.path, ok, tc.found)
			continue
		}
		if ok && !EqualJSON(mustEncode(got), []byte(tc.want)) {
			t.Errorf("get(%q) = %s, want %s", tc.path, mustEncode(got), tc.want)
		}
	}
	for _, bad := range []string{"", "a", "$..a", "$.a[", "$.a[?(@.x)]", "$.a[1:2]", "$.", "$a"} {
		if _, err := parsePath(bad, false); err == nil {
			t.Errorf("parsePath(%q) succeeded, want an error", bad)
		}
	}
}

func TestResultPathSet(t *testing.T) {
	tests := []struct {
		input, path, value, want string
		fails                    bool
	}{
		{`{"a": 1}`, "$.b", `2`, `{"a": 1, "b": 2}`, false},
		{`{"a": 1}`, "$.x.y.z", `true`, `{"a": 1, "x": {"y": {"z": true}}}`, false},
		{`{"a": {"k": 1}}`, "$.a.j", `2`, `{"a": {"k": 1, "j": 2}}`, false},
		{`{"a": [1, 2]}`, "$.a[1]", `"two"`, `{"a": [1, "two"]}`, false},
		{`"text"`, "$.a", `1`, ``, true},
		{`{"a": "text"}`, "$.a.b", `1`, ``, true},
		{`null`, "$.a", `1`, ``, true},
	}
	for _, tc := range tests {
		in, _ := decodeValue([]byte(tc.input))
		val, _ := decodeValue([]byte(tc.value))
		p, err := parsePath(tc.path, true)
		if err != nil {
			t.Fatal(err)
		}
		before := string(mustEncode(in))
		got, err := p.set(in, val)
		if tc.fails {
			if err == nil {
				t.Errorf("set(%s, %s) = %s, want an error", tc.input, tc.path, mustEncode(got))
			}
			continue
		}
		if err != nil || !EqualJSON(mustEncode(got), []byte(tc.want)) {
			t.Errorf("set(%s, %s) = %s, %v; want %s", tc.input, tc.path, mustEncode(got), err, tc.want)
		}
		if string(mustEncode(in)) != before {
			t.Errorf("set modified its input: %s became %s", before, mustEncode(in))
		}
	}
}

func TestIntrinsics(t *testing.T) {
	input := `{"name": "Ada", "n": 3, "list": [1, 2, 2, 3], "obj": {"a": 1}, "json": "{\"k\": [1]}", "s": "a,b;c"}`
	doc, _ := decodeValue([]byte(input))
	tests := []struct {
		expr string
		want string
		err  string
	}{
		{`States.Format('Hello {}, you have {} messages', $.name, $.n)`, `"Hello Ada, you have 3 messages"`, ""},
		{`States.Format('literal \{\} and \'quotes\' for {}', $.name)`, `"literal {} and 'quotes' for Ada"`, ""},
		{`States.Format('{} {}', $.name)`, ``, "placeholders"},
		{`States.StringToJson($.json)`, `{"k": [1]}`, ""},
		{`States.StringToJson($.name)`, ``, "not valid JSON"},
		{`States.JsonToString($.obj)`, `"{\"a\":1}"`, ""},
		{`States.Array($.name, 1, true, null)`, `["Ada", 1, true, null]`, ""},
		{`States.ArrayLength($.list)`, `4`, ""},
		{`States.ArrayLength($.name)`, ``, "array"},
		{`States.ArrayContains($.list, 3)`, `true`, ""},
		{`States.ArrayContains($.list, 9)`, `false`, ""},
		{`States.ArrayUnique($.list)`, `[1, 2, 3]`, ""},
		{`States.ArrayGetItem($.list, 3)`, `3`, ""},
		{`States.ArrayPartition($.list, 3)`, `[[1, 2, 2], [3]]`, ""},
		{`States.ArrayRange(1, 9, 3)`, `[1, 4, 7]`, ""},
		{`States.MathAdd($.n, -5)`, `-2`, ""},
		{`States.MathAdd($.n, 1.5)`, ``, "integer"},
		{`States.MathAdd(States.ArrayLength($.list), 1)`, `5`, ""},
		{`States.Base64Encode($.name)`, `"QWRh"`, ""},
		{`States.Base64Decode('QWRh')`, `"Ada"`, ""},
		{`States.JsonMerge($.obj, States.StringToJson('{"b": 2}'), false)`, `{"a": 1, "b": 2}`, ""},
		{`States.StringSplit($.s, ',;')`, `["a", "b", "c"]`, ""},
		{`States.Format('{}', $.missing)`, ``, "could not be found"},
	}
	env := &evalEnv{newUUID: func() string { return "uuid" }}
	for _, tc := range tests {
		c, err := parseIntrinsic(tc.expr)
		if err != nil {
			t.Errorf("parseIntrinsic(%s): %v", tc.expr, err)
			continue
		}
		got, err := c.eval(doc, nil, env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.expr, err, tc.err)
			}
			continue
		}
		if err != nil || !EqualJSON(mustEncode(got), []byte(tc.want)) {
			t.Errorf("%s = %s, %v; want %s", tc.expr, mustEncode(got), err, tc.want)
		}
	}
}

func TestHashIntrinsicMatchesKnownDigest(t *testing.T) {
	c, err := parseIntrinsic(`States.Hash('abc', 'SHA-1')`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.eval(nil, nil, nil)
	if err != nil || got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("SHA-1 of abc = %v, %v", got, err)
	}
}

func TestChoiceRules(t *testing.T) {
	input := `{"s": "ticket-42", "n": 7, "b": true, "nul": null, "ts": "2026-03-14T09:00:00Z", "later": "2026-03-14T10:00:00+01:00", "num": "7", "star": "a*b"}`
	doc, _ := decodeValue([]byte(input))
	tests := []struct {
		rule string
		want bool
		err  string
	}{
		{`{"Variable": "$.s", "StringEquals": "ticket-42"}`, true, ""},
		{`{"Variable": "$.s", "StringEqualsPath": "$.s"}`, true, ""},
		{`{"Variable": "$.n", "StringEquals": "7"}`, false, ""},
		{`{"Variable": "$.s", "StringLessThan": "ticket-5"}`, true, ""},
		{`{"Variable": "$.s", "StringGreaterThanEquals": "ticket-42"}`, true, ""},
		{`{"Variable": "$.s", "StringMatches": "ticket-*"}`, true, ""},
		{`{"Variable": "$.s", "StringMatches": "*-4"}`, false, ""},
		{`{"Variable": "$.star", "StringMatches": "a\\*b"}`, true, ""},
		{`{"Variable": "$.s", "StringMatches": "a\\*b"}`, false, ""},
		{`{"Variable": "$.n", "NumericEquals": 7}`, true, ""},
		{`{"Variable": "$.num", "NumericEquals": 7}`, false, ""},
		{`{"Variable": "$.n", "NumericLessThan": 7}`, false, ""},
		{`{"Variable": "$.n", "NumericLessThanEquals": 7}`, true, ""},
		{`{"Variable": "$.n", "NumericGreaterThan": 6.5}`, true, ""},
		{`{"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.n"}`, true, ""},
		{`{"Variable": "$.n", "NumericEqualsPath": "$.missing"}`, false, "Invalid path '$.missing'"},
		{`{"Variable": "$.b", "BooleanEquals": true}`, true, ""},
		{`{"Variable": "$.b", "BooleanEqualsPath": "$.b"}`, true, ""},
		{`{"Variable": "$.ts", "TimestampEquals": "2026-03-14T09:00:00.000Z"}`, true, ""},
		{`{"Variable": "$.ts", "TimestampEqualsPath": "$.later"}`, true, ""},
		{`{"Variable": "$.ts", "TimestampLessThan": "2026-03-14T09:00:01Z"}`, true, ""},
		{`{"Variable": "$.ts", "TimestampGreaterThan": "2026-03-14T09:00:01Z"}`, false, ""},
		{`{"Variable": "$.s", "TimestampGreaterThan": "2026-03-14T09:00:01Z"}`, false, ""},
		{`{"Variable": "$.nul", "IsNull": true}`, true, ""},
		{`{"Variable": "$.s", "IsNull": false}`, true, ""},
		{`{"Variable": "$.s", "IsPresent": true}`, true, ""},
		{`{"Variable": "$.missing", "IsPresent": true}`, false, ""},
		{`{"Variable": "$.missing", "IsPresent": false}`, true, ""},
		{`{"Variable": "$.missing", "IsNull": true}`, false, "Invalid path '$.missing'"},
		{`{"Variable": "$.s", "IsString": true}`, true, ""},
		{`{"Variable": "$.num", "IsNumeric": true}`, false, ""},
		{`{"Variable": "$.n", "IsNumeric": true}`, true, ""},
		{`{"Variable": "$.b", "IsBoolean": true}`, true, ""},
		{`{"Variable": "$.ts", "IsTimestamp": true}`, true, ""},
		{`{"Variable": "$.s", "IsTimestamp": false}`, true, ""},
		{`{"And": [{"Variable": "$.n", "NumericEquals": 7}, {"Variable": "$.b", "BooleanEquals": true}]}`, true, ""},
		{`{"And": [{"Variable": "$.n", "NumericEquals": 7}, {"Variable": "$.b", "BooleanEquals": false}]}`, false, ""},
		{`{"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.b", "BooleanEquals": true}]}`, true, ""},
		{`{"Not": {"Variable": "$.missing", "IsPresent": true}}`, true, ""},
		{`{"And": [{"Variable": "$.missing", "IsPresent": true}, {"Variable": "$.missing", "IsNull": true}]}`, false, ""},
		{`{"Variable": "$$.Execution.Name", "StringEquals": "exec"}`, true, ""},
	}
	ctxObj := map[string]any{"Execution": map[string]any{"Name": "exec"}}
	for _, tc := range tests {
		raw, err := decodeValue([]byte(tc.rule))
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseChoiceRule(raw, false, "rule")
		if err != nil {
			t.Errorf("parse %s: %v", tc.rule, err)
			continue
		}
		got, err := r.eval(doc, ctxObj)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.rule, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.rule, got, err, tc.want)
		}
	}
}
