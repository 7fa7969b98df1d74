package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/aws/sfn"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

const (
	prefix    = "switchboard-"
	arnPrefix = "arn:aws:states:eu-west-1:123456789012:stateMachine:switchboard-"
	taskARN   = "arn:aws:lambda:eu-west-1:123456789012:function:Switchboard-TaskFunction"
	roleARN   = "arn:aws:iam::123456789012:role/Switchboard-StateMachineRole"
	logARN    = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/Switchboard-workflows:*"
)

func config() sfn.Config {
	return sfn.Config{Prefix: prefix, ARNPrefix: arnPrefix, TaskFunctionARN: taskARN, RoleARN: roleARN, LogGroupARN: logARN}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeSFN models the parts of Step Functions the runner relies on: machines
// with revisions, idempotent publishing per revision, aliases and
// executions named per machine, and records every call's input.
type fakeSFN struct {
	mu       sync.Mutex
	calls    []string
	machines map[string]*machine // by ARN
	aliases  map[string]string   // alias ARN -> version ARN
	execs    map[string]string   // version ARN + "/" + name -> input
	tokens   map[string]error    // task token -> error to answer

	creates      []*awssfn.CreateStateMachineInput
	updates      []*awssfn.UpdateStateMachineInput
	publishes    []*awssfn.PublishStateMachineVersionInput
	aliasCreates []*awssfn.CreateStateMachineAliasInput
	aliasUpdates []*awssfn.UpdateStateMachineAliasInput
	starts       []*awssfn.StartExecutionInput
	successes    []*awssfn.SendTaskSuccessInput
	failures     []*awssfn.SendTaskFailureInput
	failNext     map[string]error // operation -> error for its next call
}

type machine struct {
	name, definition, role string
	typ                    types.StateMachineType
	revision               int
	published              map[int]string // revision -> version ARN
	versions               int
}

func newFake() *fakeSFN {
	return &fakeSFN{machines: map[string]*machine{}, aliases: map[string]string{}, execs: map[string]string{},
		tokens: map[string]error{}, failNext: map[string]error{}}
}

func (f *fakeSFN) fail(op string) error {
	f.calls = append(f.calls, op)
	if err := f.failNext[op]; err != nil {
		delete(f.failNext, op)
		return err
	}
	return nil
}

func (f *fakeSFN) CreateStateMachine(_ context.Context, in *awssfn.CreateStateMachineInput, _ ...func(*awssfn.Options)) (*awssfn.CreateStateMachineOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, in)
	if err := f.fail("CreateStateMachine"); err != nil {
		return nil, err
	}
	arn := arnPrefix + strings.TrimPrefix(*in.Name, prefix)
	if m, ok := f.machines[arn]; ok {
		if m.definition == *in.Definition && m.typ == in.Type && m.role == *in.RoleArn {
			return &awssfn.CreateStateMachineOutput{StateMachineArn: aws.String(arn)}, nil // idempotent
		}
		return nil, &types.StateMachineAlreadyExists{Message: aws.String("State Machine Already Exists: '" + arn + "'")}
	}
	f.machines[arn] = &machine{name: *in.Name, definition: *in.Definition, role: *in.RoleArn, typ: in.Type, revision: 1, published: map[int]string{}}
	return &awssfn.CreateStateMachineOutput{StateMachineArn: aws.String(arn)}, nil
}

func (f *fakeSFN) UpdateStateMachine(_ context.Context, in *awssfn.UpdateStateMachineInput, _ ...func(*awssfn.Options)) (*awssfn.UpdateStateMachineOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, in)
	if err := f.fail("UpdateStateMachine"); err != nil {
		return nil, err
	}
	m, ok := f.machines[*in.StateMachineArn]
	if !ok {
		return nil, &types.StateMachineDoesNotExist{Message: aws.String("no such machine")}
	}
	if in.Definition != nil && *in.Definition != m.definition {
		m.definition = *in.Definition
		m.revision++
	}
	return &awssfn.UpdateStateMachineOutput{RevisionId: aws.String(fmt.Sprint(m.revision))}, nil
}

func (f *fakeSFN) PublishStateMachineVersion(_ context.Context, in *awssfn.PublishStateMachineVersionInput, _ ...func(*awssfn.Options)) (*awssfn.PublishStateMachineVersionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishes = append(f.publishes, in)
	if err := f.fail("PublishStateMachineVersion"); err != nil {
		return nil, err
	}
	m, ok := f.machines[*in.StateMachineArn]
	if !ok {
		return nil, &types.StateMachineDoesNotExist{Message: aws.String("no such machine")}
	}
	if in.RevisionId != nil && *in.RevisionId != fmt.Sprint(m.revision) {
		return nil, &types.ConflictException{Message: aws.String("revision changed")}
	}
	if v, ok := m.published[m.revision]; ok {
		return &awssfn.PublishStateMachineVersionOutput{StateMachineVersionArn: aws.String(v)}, nil
	}
	m.versions++
	v := fmt.Sprintf("%s:%d", *in.StateMachineArn, m.versions)
	m.published[m.revision] = v
	return &awssfn.PublishStateMachineVersionOutput{StateMachineVersionArn: aws.String(v)}, nil
}

func machineOfVersion(v string) string { return v[:strings.LastIndexByte(v, ':')] }

func (f *fakeSFN) CreateStateMachineAlias(_ context.Context, in *awssfn.CreateStateMachineAliasInput, _ ...func(*awssfn.Options)) (*awssfn.CreateStateMachineAliasOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliasCreates = append(f.aliasCreates, in)
	if err := f.fail("CreateStateMachineAlias"); err != nil {
		return nil, err
	}
	v := *in.RoutingConfiguration[0].StateMachineVersionArn
	arn := machineOfVersion(v) + ":" + *in.Name
	if cur, ok := f.aliases[arn]; ok && cur != v {
		return nil, &types.ConflictException{Message: aws.String("alias exists with another routing")}
	}
	f.aliases[arn] = v
	return &awssfn.CreateStateMachineAliasOutput{StateMachineAliasArn: aws.String(arn)}, nil
}

func (f *fakeSFN) UpdateStateMachineAlias(_ context.Context, in *awssfn.UpdateStateMachineAliasInput, _ ...func(*awssfn.Options)) (*awssfn.UpdateStateMachineAliasOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aliasUpdates = append(f.aliasUpdates, in)
	if err := f.fail("UpdateStateMachineAlias"); err != nil {
		return nil, err
	}
	if _, ok := f.aliases[*in.StateMachineAliasArn]; !ok {
		return nil, &types.ResourceNotFound{Message: aws.String("no alias")}
	}
	f.aliases[*in.StateMachineAliasArn] = *in.RoutingConfiguration[0].StateMachineVersionArn
	return &awssfn.UpdateStateMachineAliasOutput{}, nil
}

func (f *fakeSFN) StartExecution(_ context.Context, in *awssfn.StartExecutionInput, _ ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, in)
	if err := f.fail("StartExecution"); err != nil {
		return nil, err
	}
	v, ok := f.aliases[*in.StateMachineArn]
	if !ok {
		if m, known := f.machines[machineOfVersion(*in.StateMachineArn)]; known {
			for _, pv := range m.published {
				if pv == *in.StateMachineArn {
					v, ok = pv, true
				}
			}
		}
	}
	if !ok {
		return nil, &types.StateMachineDoesNotExist{Message: aws.String("State Machine Does Not Exist")}
	}
	key := machineOfVersion(v) + "/" + *in.Name
	exec := strings.Replace(machineOfVersion(v), ":stateMachine:", ":execution:", 1) + ":" + *in.Name
	if prev, ok := f.execs[key]; ok {
		if prev == *in.Input {
			return &awssfn.StartExecutionOutput{ExecutionArn: aws.String(exec)}, nil
		}
		return nil, &types.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + exec + "'")}
	}
	f.execs[key] = *in.Input
	return &awssfn.StartExecutionOutput{ExecutionArn: aws.String(exec)}, nil
}

func (f *fakeSFN) SendTaskSuccess(_ context.Context, in *awssfn.SendTaskSuccessInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.successes = append(f.successes, in)
	if err := f.fail("SendTaskSuccess"); err != nil {
		return nil, err
	}
	return &awssfn.SendTaskSuccessOutput{}, f.tokens[*in.TaskToken]
}

func (f *fakeSFN) SendTaskFailure(_ context.Context, in *awssfn.SendTaskFailureInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskFailureOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, in)
	if err := f.fail("SendTaskFailure"); err != nil {
		return nil, err
	}
	return &awssfn.SendTaskFailureOutput{}, f.tokens[*in.TaskToken]
}

func (f *fakeSFN) ListStateMachineVersions(_ context.Context, in *awssfn.ListStateMachineVersionsInput, _ ...func(*awssfn.Options)) (*awssfn.ListStateMachineVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "ListStateMachineVersions")
	out := &awssfn.ListStateMachineVersionsOutput{}
	if m, ok := f.machines[*in.StateMachineArn]; ok {
		for _, v := range m.published {
			out.StateMachineVersions = append(out.StateMachineVersions, types.StateMachineVersionListItem{StateMachineVersionArn: aws.String(v)})
		}
	}
	return out, nil
}

func (f *fakeSFN) DeleteStateMachineVersion(_ context.Context, in *awssfn.DeleteStateMachineVersionInput, _ ...func(*awssfn.Options)) (*awssfn.DeleteStateMachineVersionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DeleteStateMachineVersion")
	if m, ok := f.machines[machineOfVersion(*in.StateMachineVersionArn)]; ok {
		for rev, v := range m.published {
			if v == *in.StateMachineVersionArn {
				delete(m.published, rev)
			}
		}
	}
	return &awssfn.DeleteStateMachineVersionOutput{}, nil
}

func (f *fakeSFN) ListExecutions(_ context.Context, _ *awssfn.ListExecutionsInput, _ ...func(*awssfn.Options)) (*awssfn.ListExecutionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "ListExecutions")
	return &awssfn.ListExecutionsOutput{}, nil
}

// compiled returns a real compiled workflow version (docs/examples would do
// too; a small inline definition keeps the test self-contained).
func compiled(t *testing.T, id string, n int, extraStep bool) routing.WorkflowVersion {
	t.Helper()
	src := `{"id": "` + id + `", "name": "Route by language",
	  "trigger": {"type": "conversation_opened"},
	  "steps": [{"id": "to_general", "type": "assign", "team": "general"}`
	if extraStep {
		src += `, {"id": "note", "type": "comment", "text": "routed"}`
	}
	src += `]}`
	def, err := workflow.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	asl, err := workflow.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(asl), workflow.TaskFunctionPlaceholder) {
		t.Fatalf("compiled ASL has no %s placeholder:\n%s", workflow.TaskFunctionPlaceholder, asl)
	}
	return routing.WorkflowVersion{WorkflowID: id, Number: n, Trigger: "conversation_opened", Definition: []byte(src), ASL: asl}
}

func TestDeployCreatesMachinePublishesAndAliases(t *testing.T) {
	f := newFake()
	r := sfn.New(f, config(), quiet)
	v := compiled(t, "route-by-language", 1, false)
	if _, err := r.Deploy(context.Background(), v, false); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.calls, ","), "CreateStateMachine,PublishStateMachineVersion,CreateStateMachineAlias,ListStateMachineVersions"; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	c := f.creates[0]
	if *c.Name != "switchboard-route-by-language" || c.Type != types.StateMachineTypeStandard || *c.RoleArn != roleARN {
		t.Errorf("create: name %q type %s role %q", *c.Name, c.Type, *c.RoleArn)
	}
	if strings.Contains(*c.Definition, workflow.TaskFunctionPlaceholder) || !strings.Contains(*c.Definition, `"FunctionName": "`+taskARN+`"`) {
		t.Errorf("definition does not name the task function:\n%s", *c.Definition)
	}
	var asl struct {
		StartAt string
		States  map[string]map[string]any
	}
	if err := json.Unmarshal([]byte(*c.Definition), &asl); err != nil || asl.StartAt == "" {
		t.Fatalf("definition is not the ASL: %v", err)
	}
	want := strings.ReplaceAll(string(v.ASL), workflow.TaskFunctionPlaceholder, taskARN)
	if *c.Definition != want {
		t.Errorf("definition differs from the ASL beyond the placeholder")
	}
	lc := c.LoggingConfiguration
	if lc == nil || lc.Level != types.LogLevelError || lc.IncludeExecutionData || len(lc.Destinations) != 1 ||
		*lc.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn != logARN {
		t.Errorf("logging configuration %+v", lc)
	}
	if c.TracingConfiguration == nil || !c.TracingConfiguration.Enabled {
		t.Error("tracing is not enabled")
	}
	if len(c.Tags) == 0 || *c.Tags[0].Key != "switchboard:workflow" || *c.Tags[0].Value != "route-by-language" {
		t.Errorf("tags %+v", c.Tags)
	}
	p := f.publishes[0]
	if *p.StateMachineArn != arnPrefix+"route-by-language" || p.RevisionId != nil || !strings.Contains(*p.Description, "version 1") {
		t.Errorf("publish %+v", p)
	}
	a := f.aliasCreates[0]
	if *a.Name != "live" || len(a.RoutingConfiguration) != 1 || a.RoutingConfiguration[0].Weight != 100 ||
		*a.RoutingConfiguration[0].StateMachineVersionArn != arnPrefix+"route-by-language:1" {
		t.Errorf("alias %+v", a)
	}
}

func TestDeployNewVersionUpdatesAndMovesAlias(t *testing.T) {
	f := newFake()
	r := sfn.New(f, config(), quiet)
	ctx := context.Background()
	if _, err := r.Deploy(ctx, compiled(t, "wf", 1, false), false); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	v2 := compiled(t, "wf", 2, true)
	if _, err := r.Deploy(ctx, v2, false); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(f.calls, ","),
		"CreateStateMachine,UpdateStateMachine,PublishStateMachineVersion,CreateStateMachineAlias,UpdateStateMachineAlias,ListStateMachineVersions"; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	u := f.updates[0]
	if *u.StateMachineArn != arnPrefix+"wf" || !strings.Contains(*u.Definition, taskARN) || *u.RoleArn != roleARN ||
		u.LoggingConfiguration == nil || u.TracingConfiguration == nil || !u.TracingConfiguration.Enabled {
		t.Errorf("update %+v", u)
	}
	if p := f.publishes[1]; p.RevisionId == nil || *p.RevisionId != "2" {
		t.Errorf("publish after update must pin the revision the update made: %+v", p)
	}
	au := f.aliasUpdates[0]
	if *au.StateMachineAliasArn != arnPrefix+"wf:live" || *au.RoutingConfiguration[0].StateMachineVersionArn != arnPrefix+"wf:2" ||
		au.RoutingConfiguration[0].Weight != 100 {
		t.Errorf("alias update %+v", au)
	}
	// executions now start on version 2
	if err := r.Start(ctx, flows.StartRequest{Name: "wf-v2-abc", WorkflowID: "wf", Version: 2, Input: json.RawMessage(`{"conversationId":"c1"}`)}); err != nil {
		t.Fatal(err)
	}
	if got := f.aliases[*f.starts[0].StateMachineArn]; got != arnPrefix+"wf:2" {
		t.Errorf("start resolved to %q, want version 2", got)
	}
}

func TestDeploySameVersionTwiceIsIdempotent(t *testing.T) {
	f := newFake()
	r := sfn.New(f, config(), quiet)
	ctx := context.Background()
	v := compiled(t, "wf", 1, false)
	for i := 0; i < 2; i++ {
		if _, err := r.Deploy(ctx, v, false); err != nil {
			t.Fatal(err)
		}
	}
	m := f.machines[arnPrefix+"wf"]
	if m.versions != 1 || len(f.aliasUpdates) != 0 || f.aliases[arnPrefix+"wf:live"] != arnPrefix+"wf:1" {
		t.Errorf("versions %d, alias updates %d, alias %q", m.versions, len(f.aliasUpdates), f.aliases[arnPrefix+"wf:live"])
	}
}

func TestExpressMachinesAreSeparate(t *testing.T) {
	f := newFake()
	r := sfn.New(f, config(), quiet)
	ctx := context.Background()
	if _, err := r.Deploy(ctx, compiled(t, "wf", 1, false), true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Deploy(ctx, compiled(t, "wf", 2, true), false); err != nil {
		t.Fatal(err)
	}
	if c := f.creates[0]; *c.Name != "switchboard-_express_wf" || c.Type != types.StateMachineTypeExpress {
		t.Errorf("express create: %q %s", *c.Name, c.Type)
	}
	if c := f.creates[1]; *c.Name != "switchboard-wf" || c.Type != types.StateMachineTypeStandard {
		t.Errorf("standard create: %q %s", *c.Name, c.Type)
	}
	if len(f.updates) != 0 {
		t.Errorf("a type change must not update the other machine: %+v", f.updates)
	}
	if err := r.Start(ctx, flows.StartRequest{Name: "n1", WorkflowID: "wf", Version: 1, Express: true}); err != nil {
		t.Fatal(err)
	}
	if got := *f.starts[0].StateMachineArn; got != arnPrefix+"_express_wf:live" {
		t.Errorf("express start on %q", got)
	}
	if got := *f.starts[0].Input; got != "{}" {
		t.Errorf("empty input sent as %q, want {}", got)
	}
	// a workflow id cannot start with '_', so no standard machine can take an express machine's name
	def, err := workflow.Parse([]byte(`{"id":"_express_wf","name":"x","trigger":{"type":"conversation_opened"},"steps":[{"id":"a","type":"close"}]}`))
	if err == nil && len(workflow.Validate(def, nil)) == 0 {
		t.Error("workflow ids starting with '_' are valid: express machine names could collide")
	}
}

func TestMachineNameLimits(t *testing.T) {
	long := strings.Repeat("a", 64)
	longPrefix := strings.Repeat("p", 40)
	seen := map[string]string{}
	for _, c := range []struct {
		prefix, id string
		express    bool
	}{
		{prefix, "wf", false}, {prefix, "wf", true},
		{longPrefix, long, false}, {longPrefix, long, true},
		{longPrefix, long[:63] + "b", false}, {longPrefix, long[:63] + "b", true},
	} {
		n := sfn.MachineName(c.prefix, c.id, c.express)
		if len(n) > sfn.MaxNameLength || !strings.HasPrefix(n, c.prefix) {
			t.Errorf("MachineName(%q, %q, %v) = %q (%d chars)", c.prefix, c.id, c.express, n, len(n))
		}
		for _, ch := range n {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				t.Errorf("%q has %q: CloudWatch logging needs letters, digits, - and _ only", n, ch)
			}
		}
		key := fmt.Sprintf("%s|%s|%v", c.prefix, c.id, c.express)
		if prev, dup := seen[n]; dup {
			t.Errorf("%s and %s share the name %q", prev, key, n)
		}
		seen[n] = key
		if again := sfn.MachineName(c.prefix, c.id, c.express); again != n {
			t.Errorf("not deterministic: %q then %q", n, again)
		}
	}
	r := sfn.New(newFake(), sfn.Config{Prefix: longPrefix, ARNPrefix: "arn:aws:states:r:1:stateMachine:" + longPrefix}, quiet)
	if got := r.AliasARN(long, true); got != "arn:aws:states:r:1:stateMachine:"+sfn.MachineName(longPrefix, long, true)+":live" {
		t.Errorf("alias ARN %q", got)
	}
}

func TestStartIdempotencyAndErrors(t *testing.T) {
	f := newFake()
	r := sfn.New(f, config(), quiet)
	ctx := context.Background()
	req := flows.StartRequest{Name: "wf-v1-0123", WorkflowID: "wf", Version: 1, Input: json.RawMessage(`{"conversationId":"c1"}`)}

	// not deployed
	if err := r.Start(ctx, req); !routing.IsNotFound(err) {
		t.Fatalf("start before deploy: %v, want not_found", err)
	}
	if _, err := r.Deploy(ctx, compiled(t, "wf", 1, false), false); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, req); err != nil {
		t.Fatal(err)
	}
	s := f.starts[len(f.starts)-1]
	if *s.StateMachineArn != arnPrefix+"wf:live" || *s.Name != req.Name || *s.Input != string(req.Input) {
		t.Errorf("start input %+v", s)
	}
	// same name and input: Step Functions answers with the same execution
	if err := r.Start(ctx, req); err != nil {
		t.Errorf("same name and input: %v", err)
	}
	// same name, other input: ExecutionAlreadyExists is a duplicate, not an error
	other := req
	other.Input = json.RawMessage(`{"conversationId":"c2"}`)
	if err := r.Start(ctx, other); err != nil {
		t.Errorf("ExecutionAlreadyExists: %v, want nil", err)
	}
	if len(f.execs) != 1 {
		t.Errorf("%d executions, want 1", len(f.execs))
	}
	// names Step Functions would refuse never leave the process
	n := len(f.starts)
	for _, name := range []string{"", "has space", strings.Repeat("x", 81), "a/b", "a:b"} {
		bad := req
		bad.Name = name
		if err := r.Start(ctx, bad); routing.ErrorCode(err) != routing.CodeInvalid {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if len(f.starts) != n {
		t.Error("an invalid name reached Step Functions")
	}
	f.failNext["StartExecution"] = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	if err := r.Start(ctx, flows.StartRequest{Name: "n2", WorkflowID: "wf"}); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Errorf("throttled start: %v", err)
	}
	f.failNext["StartExecution"] = &types.ExecutionLimitExceeded{Message: aws.String("limit")}
	if err := r.Start(ctx, flows.StartRequest{Name: "n3", WorkflowID: "wf"}); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Errorf("execution limit: %v", err)
	}
	f.failNext["StartExecution"] = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized"}
	err := r.Start(ctx, flows.StartRequest{Name: "n4", WorkflowID: "wf"})
	if routing.ErrorCode(err) != routing.CodeInternal || strings.Contains(err.Error(), "123456789012") {
		t.Errorf("access denied: %v (must be internal and not leak the AWS message)", err)
	}
}

func TestTaskTokens(t *testing.T) {
	f := newFake()
	r := sfn.New(f, sfn.Config{}, quiet) // the task function has no state machine settings: tokens need none
	ctx := context.Background()
	f.tokens["timed-out"] = &types.TaskTimedOut{Message: aws.String("Task Timed Out")}
	f.tokens["bad"] = &types.InvalidToken{Message: aws.String("Invalid Token")}
	f.tokens["gone"] = &types.TaskDoesNotExist{Message: aws.String("Task Does Not Exist")}

	if err := r.SendTaskSuccess(ctx, "tok-1", json.RawMessage(`"sales"`)); err != nil {
		t.Fatal(err)
	}
	if s := f.successes[0]; *s.TaskToken != "tok-1" || *s.Output != `"sales"` {
		t.Errorf("success input %+v", s)
	}
	if err := r.SendTaskFailure(ctx, "tok-2", workflow.ErrorInvalidAnswer, "no valid answer"); err != nil {
		t.Fatal(err)
	}
	if fl := f.failures[0]; *fl.TaskToken != "tok-2" || *fl.Error != "InvalidAnswer" || *fl.Cause != "no valid answer" {
		t.Errorf("failure input %+v", fl)
	}
	if err := r.SendTaskSuccess(ctx, "timed-out", json.RawMessage(`"x"`)); !routing.IsConflict(err, sfn.ReasonTaskEnded) {
		t.Errorf("timed out: %v", err)
	}
	if err := r.SendTaskFailure(ctx, "timed-out", "E", "c"); !routing.IsConflict(err, sfn.ReasonTaskEnded) {
		t.Errorf("timed out failure: %v", err)
	}
	for _, tok := range []string{"bad", "gone"} {
		if err := r.SendTaskSuccess(ctx, tok, nil); !routing.IsNotFound(err) {
			t.Errorf("%s: %v, want not_found", tok, err)
		}
	}
	if got := *f.successes[len(f.successes)-1].Output; got != "{}" {
		t.Errorf("empty output sent as %q", got)
	}
	if err := r.SendTaskSuccess(ctx, "", nil); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("empty token: %v", err)
	}
	if err := r.SendTaskSuccess(ctx, "t", json.RawMessage(`{bad`)); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("bad output: %v", err)
	}
}

func TestDeployErrors(t *testing.T) {
	ctx := context.Background()
	v := compiled(t, "wf", 1, false)

	f := newFake()
	r := sfn.New(f, sfn.Config{Prefix: prefix, ARNPrefix: arnPrefix}, quiet) // the dispatcher: may start, not deploy
	if _, err := r.Deploy(ctx, v, false); routing.ErrorCode(err) != routing.CodeInternal || len(f.calls) != 0 {
		t.Errorf("deploy without deploy settings: %v, %d calls", err, len(f.calls))
	}
	r = sfn.New(f, sfn.Config{Prefix: "other-", ARNPrefix: arnPrefix, TaskFunctionARN: taskARN, RoleARN: roleARN, LogGroupARN: logARN}, quiet)
	if _, err := r.Deploy(ctx, v, false); routing.ErrorCode(err) != routing.CodeInternal {
		t.Errorf("mismatched prefixes: %v", err)
	}

	f = newFake()
	r = sfn.New(f, config(), quiet)
	f.failNext["CreateStateMachine"] = &types.InvalidDefinition{Message: aws.String("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED'")}
	_, err := r.Deploy(ctx, v, false)
	var re *routing.Error
	if !errors.As(err, &re) || re.Code != routing.CodeInvalid || re.Field != "asl" {
		t.Errorf("invalid definition: %v", err)
	}
	if _, err := r.Deploy(ctx, routing.WorkflowVersion{WorkflowID: "wf", Number: 1}, false); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Errorf("no ASL: %v", err)
	}
	// a concurrent deploy changed the machine between update and publish
	if _, err := r.Deploy(ctx, v, false); err != nil {
		t.Fatal(err)
	}
	f.failNext["PublishStateMachineVersion"] = &types.ConflictException{Message: aws.String("revision")}
	if _, err := r.Deploy(ctx, compiled(t, "wf", 2, true), false); !routing.IsConflict(err, routing.ReasonVersion) {
		t.Errorf("publish conflict: %v", err)
	}
	f.failNext["CreateStateMachine"] = &smithy.GenericAPIError{Code: "ThrottlingException"}
	if _, err := r.Deploy(ctx, v, false); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Errorf("throttled: %v", err)
	}
	f.failNext["CreateStateMachine"] = context.DeadlineExceeded
	if _, err := r.Deploy(ctx, v, false); routing.ErrorCode(err) != routing.CodeUnavailable {
		t.Errorf("deadline: %v", err)
	}
	f.failNext["CreateStateMachine"] = errors.New("some transport failure")
	if _, err := r.Deploy(ctx, v, false); routing.ErrorCode(err) != routing.CodeInternal || strings.Contains(err.Error(), "transport") {
		t.Errorf("unknown error: %v", err)
	}
}

func TestPlaceholderInsideJSONStringIsEscaped(t *testing.T) {
	r := sfn.New(newFake(), sfn.Config{TaskFunctionARN: `arn:aws:lambda:r:1:function:a"b`}, quiet)
	def, err := r.Definition(routing.WorkflowVersion{WorkflowID: "wf", ASL: []byte(`{"FunctionName":"` + workflow.TaskFunctionPlaceholder + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(def, &v); err != nil || v["FunctionName"] != `arn:aws:lambda:r:1:function:a"b` {
		t.Errorf("definition %s: %v", def, err)
	}
}
