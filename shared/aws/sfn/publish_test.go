package sfn_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/sfn"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/bolt"
)

const fakeARNPrefix = "arn:aws:states:us-east-1:123456789012:stateMachine:switchboard-"

// onFake is the sfn runner on awsfake, with the raw client for direct calls.
func onFake(t *testing.T) (*awsfake.Server, *awssfn.Client, *sfn.Runner) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	client := awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 1})
	cfg := sfn.Config{Prefix: prefix, ARNPrefix: fakeARNPrefix, TaskFunctionARN: taskARN, RoleARN: roleARN, LogGroupARN: logARN}
	return fake, client, sfn.New(client, cfg, quiet)
}

// countingRunner counts Deploy calls and can hold them until released.
type countingRunner struct {
	flows.Runner
	deploys atomic.Int64
	entered chan struct{} // receives when a Deploy starts (if set)
	release chan struct{} // Deploy waits for it (if set)
}

func (c *countingRunner) Deploy(ctx context.Context, v routing.WorkflowVersion, express bool) (string, error) {
	c.deploys.Add(1)
	if c.entered != nil {
		c.entered <- struct{}{}
		<-c.release
	}
	return c.Runner.Deploy(ctx, v, express)
}

// service is a flows.Service over a fresh bolt store and runner.
func service(t *testing.T, r flows.Runner) (*flows.Service, store.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"), bolt.WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := engine.New(engine.Deps{Store: st, Clock: clock.Real{}, IDs: ids.Random{}, Log: quiet}, engine.Config{})
	if _, err := eng.CreateTeam(context.Background(), routing.Team{ID: "general", Name: "General", Strategy: routing.LeastOpen, Mode: routing.ModeAutomatic}, engine.Person("seed", routing.RoleAdmin)); err != nil {
		t.Fatal(err)
	}
	return flows.New(flows.Deps{Engine: eng, Store: st, Runner: r, Log: quiet}), st
}

// draft is a Standard workflow (it waits) whose ASL changes with rev.
func draft(rev int) []byte {
	return fmt.Appendf(nil, `{"id": "wf", "name": "Reassign", "trigger": {"type": "conversation_opened"},
	  "steps": [{"id": "to_general", "type": "assign", "team": "general"},
	            {"id": "pause", "type": "wait", "duration": "15m"},
	            {"id": "note", "type": "comment", "text": "revision %d"}]}`, rev)
}

func saveDraft(t *testing.T, svc *flows.Service, rev int) {
	t.Helper()
	if _, _, err := svc.SaveDraft(context.Background(), draft(rev), engine.Person("seed", routing.RoleAdmin), 0); err != nil {
		t.Fatal(err)
	}
}

// TestPublishOrderedByTheStore: a publish that loses the store's race
// deploys nothing, and the version the store records as live is exactly the
// one deployed; concurrent rounds keep deploys == successful publishes.
func TestPublishOrderedByTheStore(t *testing.T) {
	fake, _, r := onFake(t)
	cr := &countingRunner{Runner: r, entered: make(chan struct{}), release: make(chan struct{})}
	svc, st := service(t, cr)
	ctx := context.Background()
	saveDraft(t, svc, 1)

	// A is deploying when B publishes: B is refused and deploys nothing.
	done := make(chan error)
	go func() { _, err := svc.Publish(ctx, "wf", 0); done <- err }()
	<-cr.entered
	second := make(chan error, 1)
	go func() { _, err := svc.Publish(ctx, "wf", 0); second <- err }()
	select {
	case err := <-second:
		if !routing.IsConflict(err, routing.ReasonVersion) {
			t.Fatalf("publish during a publish: %v", err)
		}
	case <-cr.entered:
		close(cr.release)
		t.Fatal("a second publish deployed while the first was still deploying")
	}
	close(cr.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := cr.deploys.Load(); n != 1 {
		t.Fatalf("%d deploys, want 1", n)
	}
	cr.entered, cr.release = nil, nil

	// Truly concurrent pairs.
	for round := 2; round <= 30; round++ {
		saveDraft(t, svc, round)
		before := cr.deploys.Load()
		var wg sync.WaitGroup
		var ok atomic.Int64
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Publish(ctx, "wf", 0)
				switch {
				case err == nil:
					ok.Add(1)
				case !routing.IsConflict(err, routing.ReasonVersion):
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		if d := cr.deploys.Load() - before; d != ok.Load() || ok.Load() == 0 {
			t.Fatalf("round %d: %d deploys for %d successful publishes", round, d, ok.Load())
		}
	}
	w, err := st.GetWorkflow(ctx, "wf")
	if err != nil {
		t.Fatal(err)
	}
	live, err := st.GetWorkflowVersion(ctx, "wf", w.PublishedVersion)
	if err != nil {
		t.Fatal(err)
	}
	vs := fake.Versions(prefix + "wf")
	if live.RunnerRef == "" || live.RunnerRef != vs[len(vs)-1] {
		t.Fatalf("store's live version runs %q; the newest deployed is %q", live.RunnerRef, vs[len(vs)-1])
	}
	if w.Publishing != 0 || w.PublishingID != "" {
		t.Fatalf("reservation left behind: %+v", w)
	}
}

// TestPublish1100Times: Step Functions keeps 1,000 versions per machine;
// the runner prunes, so publishing goes on. Versions with a running
// execution are kept.
func TestPublish1100Times(t *testing.T) {
	fake, _, r := onFake(t)
	svc, st := service(t, r)
	ctx := context.Background()
	saveDraft(t, svc, 0)
	v1, err := svc.Publish(ctx, "wf", 0)
	if err != nil {
		t.Fatal(err)
	}
	// An execution that keeps running on version 1.
	if err := r.Start(ctx, flows.StartRequest{Name: "still-running", WorkflowID: "wf", Version: 1, RunnerRef: v1.RunnerRef, Input: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 1100; i++ {
		saveDraft(t, svc, i)
		if _, err := svc.Publish(ctx, "wf", 0); err != nil {
			t.Fatalf("publish %d: %v", i+1, err)
		}
	}
	w, _ := st.GetWorkflow(ctx, "wf")
	if w.PublishedVersion != 1100 {
		t.Fatalf("published version %d", w.PublishedVersion)
	}
	vs := fake.Versions(prefix + "wf")
	if len(vs) > sfn.KeepVersions+1 || vs[0] != v1.RunnerRef {
		t.Fatalf("%d versions kept, first %s (want version 1, which has a running execution, and the newest)", len(vs), vs[0])
	}
	t.Logf("after 1,100 publishes: %d versions on the machine", len(vs))
}

// TestQuotaReachedPrunesAndPublishes: a machine already at 1,000 versions
// (a runner that never pruned) gets ServiceQuotaExceededException; Deploy
// prunes and publishes.
func TestQuotaReachedPrunesAndPublishes(t *testing.T) {
	fake, client, r := onFake(t)
	ctx := context.Background()
	arn := fakeARNPrefix + "wf"
	if _, err := client.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{Name: aws.String(prefix + "wf"), Definition: aws.String(`{"v": 0}`), RoleArn: aws.String(roleARN)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < awsfake.MaxVersions; i++ {
		if _, err := client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(fmt.Sprintf(`{"v": %d}`, i+1))}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PublishStateMachineVersion(ctx, &awssfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(arn)}); err != nil {
			t.Fatal(i, err)
		}
	}
	_, err := client.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(`{"v": "x"}`)})
	if err == nil {
		_, err = client.PublishStateMachineVersion(ctx, &awssfn.PublishStateMachineVersionInput{StateMachineArn: aws.String(arn)})
	}
	var quota *types.ServiceQuotaExceededException
	if !errors.As(err, &quota) {
		t.Fatalf("version 1,001: %v", err)
	}
	ref, err := r.Deploy(ctx, compiled(t, "wf", 1, false), false)
	if err != nil {
		t.Fatal(err)
	}
	if vs := fake.Versions(prefix + "wf"); len(vs) > sfn.KeepVersions || vs[len(vs)-1] != ref {
		t.Fatalf("%d versions, newest %s, deployed %s", len(vs), vs[len(vs)-1], ref)
	}
}

// TestAwsfakeFollowsAWS: the limits and refusals the fake shares with AWS.
func TestAwsfakeFollowsAWS(t *testing.T) {
	fake, client, r := onFake(t)
	ctx := context.Background()
	ref, err := r.Deploy(ctx, compiled(t, "wf", 1, false), false)
	if err != nil {
		t.Fatal(err)
	}
	// The alias points at it: AWS refuses to delete it.
	_, err = client.DeleteStateMachineVersion(ctx, &awssfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(ref)})
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("delete of the alias's version: %v", err)
	}
	// Oversized definition and input: ValidationException from the fake,
	// invalid_argument from the runner before any call.
	huge := `{"Comment": "` + strings.Repeat("x", awsfake.MaxDefinitionChars) + `"}`
	_, err = client.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{Name: aws.String("big"), Definition: aws.String(huge), RoleArn: aws.String(roleARN)})
	var validation *types.ValidationException
	if !errors.As(err, &validation) {
		t.Fatalf("oversized definition: %v", err)
	}
	big := routing.WorkflowVersion{WorkflowID: "big", Number: 1, ASL: []byte(huge)}
	fake.Reset()
	if _, err := r.Deploy(ctx, big, false); routing.ErrorCode(err) != routing.CodeInvalid || len(fake.Calls()) != 0 {
		t.Fatalf("runner deploy of an oversized definition: %v, %d calls", err, len(fake.Calls()))
	}
	input := []byte(`{"text": "` + strings.Repeat("<", awsfake.MaxInputBytes) + `"}`)
	_, err = client.StartExecution(ctx, &awssfn.StartExecutionInput{StateMachineArn: aws.String(ref), Name: aws.String("big"), Input: aws.String(string(input))})
	if !errors.As(err, &validation) {
		t.Fatalf("oversized input: %v", err)
	}
	if err := r.Start(ctx, flows.StartRequest{Name: "big", WorkflowID: "wf", RunnerRef: ref, Input: input}); routing.ErrorCode(err) != routing.CodeInvalid {
		t.Fatalf("runner start of an oversized input: %v", err)
	}
	// Express starts are not deduplicated by name; Standard ones are.
	xref, err := r.Deploy(ctx, compiled(t, "x", 1, false), true)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := r.Start(ctx, flows.StartRequest{Name: "twice", WorkflowID: "x", Express: true, RunnerRef: xref, Input: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx, flows.StartRequest{Name: "once", WorkflowID: "wf", RunnerRef: ref, Input: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if fake.ExecutionsNamed("twice") != 2 || fake.ExecutionsNamed("once") != 1 {
		t.Fatalf("express %d, standard %d executions", fake.ExecutionsNamed("twice"), fake.ExecutionsNamed("once"))
	}
	// ListExecutions is not supported for Express machines.
	_, err = client.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(xref)})
	var unsupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &unsupported) {
		t.Fatalf("ListExecutions on Express: %v", err)
	}
}

// TestStartOnTheRecordedVersion: UpdateStateMachineAlias is eventually
// consistent; a start on the alias right after a publish reaches the old
// version, a start on the recorded version ARN the new one.
func TestStartOnTheRecordedVersion(t *testing.T) {
	fake, _, r := onFake(t)
	ctx := context.Background()
	ref1, err := r.Deploy(ctx, compiled(t, "wf", 1, false), false)
	if err != nil {
		t.Fatal(err)
	}
	fake.DelayAliasUpdates(true)
	ref2, err := r.Deploy(ctx, compiled(t, "wf", 2, true), false)
	if err != nil || ref2 == ref1 {
		t.Fatalf("deploy v2: %q %v", ref2, err)
	}
	if err := r.Start(ctx, flows.StartRequest{Name: "by-alias", WorkflowID: "wf", Version: 2, Input: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, flows.StartRequest{Name: "by-ref", WorkflowID: "wf", Version: 2, RunnerRef: ref2, Input: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range fake.StartedExecutions() {
		got[e.Name] = e.Version
	}
	if got["by-alias"] != ref1 {
		t.Fatalf("the lagging alias should still reach version 1, got %q", got["by-alias"])
	}
	if got["by-ref"] != ref2 {
		t.Fatalf("a start on the recorded ref runs %q, want %q", got["by-ref"], ref2)
	}
}

// TestExecutionsStartOnTheStoresVersion: through flows, a run started right
// after a publish (the alias not yet moved) runs the version the store
// recorded as live.
func TestExecutionsStartOnTheStoresVersion(t *testing.T) {
	fake, _, r := onFake(t)
	svc, st := service(t, r)
	ctx := context.Background()
	shortcut := func(rev int) []byte {
		return fmt.Appendf(nil, `{"id": "wf", "name": "Note", "trigger": {"type": "shortcut", "name": "Note"},
		  "steps": [{"id": "note", "type": "comment", "text": "revision %d"}, {"id": "pause", "type": "wait", "duration": "1m"}]}`, rev)
	}
	if _, _, err := svc.SaveDraft(ctx, shortcut(1), engine.Person("seed", routing.RoleAdmin), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, "wf", 0); err != nil {
		t.Fatal(err)
	}
	fake.DelayAliasUpdates(true)
	if _, _, err := svc.SaveDraft(ctx, shortcut(2), engine.Person("seed", routing.RoleAdmin), 0); err != nil {
		t.Fatal(err)
	}
	v2, err := svc.Publish(ctx, "wf", 0)
	if err != nil {
		t.Fatal(err)
	}
	contact := routing.Contact{ID: "k1", ChannelID: "web", ExternalID: "+34600111222"}
	conv := routing.Conversation{ID: "c1", ContactID: "k1", ChannelID: "web", Status: routing.ConvPending, TeamID: "general"}
	if err := st.Commit(ctx, store.Tx{Contacts: []store.ContactWrite{{Value: contact}}, Conversations: []store.ConversationWrite{{Value: conv}}}); err != nil {
		t.Fatal(err)
	}
	name, err := svc.RunShortcut(ctx, "c1", "wf", nil, engine.Person("seed", routing.RoleAdmin), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, e := range fake.StartedExecutions() {
		if e.Name == name {
			got = e.Version
		}
	}
	if got == "" || got != v2.RunnerRef {
		t.Fatalf("the run started on %q; the store's live version is %q", got, v2.RunnerRef)
	}
}
