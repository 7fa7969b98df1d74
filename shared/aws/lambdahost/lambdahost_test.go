package lambdahost_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/modroot"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadEnv(t *testing.T) {
	_, err := lambdahost.LoadEnv(deployenv.API, lookup(map[string]string{deployenv.TableName: "t"}))
	for _, k := range lambdahost.Required(deployenv.API)[1:] {
		if err == nil || !strings.Contains(err.Error(), k+" is not set") {
			t.Errorf("missing %s not reported: %v", k, err)
		}
	}
	env := map[string]string{deployenv.TableName: "t", deployenv.EventBusName: "b", deployenv.SessionHours: "x"}
	if _, err := lambdahost.LoadEnv(deployenv.Sweeper, lookup(env)); err == nil || !strings.Contains(err.Error(), "SESSION_HOURS") {
		t.Errorf("bad number: %v", err)
	}
	env[deployenv.SessionHours] = "10"
	e, err := lambdahost.LoadEnv(deployenv.Sweeper, lookup(env))
	if err != nil || e.SessionHours != 10 || e.AuthSubjectClaim != "sub" || e.Function != "sweeper" {
		t.Errorf("sweeper env %+v, %v", e, err)
	}
	env = map[string]string{deployenv.TableName: "t", deployenv.EventBusName: "b", deployenv.SecretsPrefix: "s/",
		deployenv.StateMachinePrefix: "sb-", deployenv.StateMachineARNPrefix: "arn:aws:states:r:1:stateMachine:other-"}
	if _, err := lambdahost.LoadEnv(deployenv.Dispatcher, lookup(env)); err == nil || !strings.Contains(err.Error(), deployenv.StateMachineARNPrefix) {
		t.Errorf("mismatched ARN prefix: %v", err)
	}
	if _, err := lambdahost.LoadEnv("nope", lookup(env)); err == nil {
		t.Error("unknown function accepted")
	}
}

// Each function needs only variables the stack gives it (docs/deploy.md's
// table; the names themselves are shared with the stack through deployenv).
func TestEveryFunctionGetsWhatItRequires(t *testing.T) {
	doc, err := os.Open(filepath.Join(modroot.Must(t), "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	given := map[string]map[string]bool{}
	row := regexp.MustCompile("^\\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \\| ([a-z, ]+) \\|")
	sc := bufio.NewScanner(doc)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fns := strings.Split(m[2], ", ")
		if strings.TrimSpace(m[2]) == "all" {
			fns = deployenv.Functions
		}
		for _, v := range strings.Split(m[1], ", ") {
			v = strings.Trim(v, "`")
			for _, fn := range fns {
				fn = strings.TrimSpace(fn)
				if given[fn] == nil {
					given[fn] = map[string]bool{}
				}
				given[fn][v] = true
			}
		}
	}
	for _, fn := range deployenv.Functions {
		for _, k := range lambdahost.Required(fn) {
			if !given[fn][k] {
				t.Errorf("%s requires %s, which the stack does not give it", fn, k)
			}
		}
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func clientsFor(ddbEndpoint, fakeURL string) lambdahost.Clients {
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	return lambdahost.Clients{
		DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(ddbEndpoint), Credentials: creds, RetryMaxAttempts: 1}),
		EventBridge: eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(fakeURL), Credentials: creds,
			RetryMaxAttempts: 1}),
		StepFunctions:  awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(fakeURL), Credentials: creds, RetryMaxAttempts: 1}),
		SecretsManager: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(fakeURL), Credentials: creds, RetryMaxAttempts: 1}),
	}
}

// The host in process, under the race detector: webhook -> the table's
// stream -> relay -> EventBridge -> dispatcher -> routed; task error names; foreign events ignored.
// testHost is every function in one process on a fresh table of DynamoDB
// Local and the AWS fake.
type testHost struct {
	*lambdahost.Host
	srv   *dynamolocal.Server
	fake  *awsfake.Server
	table string
	env   lambdahost.Env
}

func newTestHost(t *testing.T, function string, extra map[string]string) testHost {
	t.Helper()
	srv := dynamolocal.Shared(t)
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	table := "lambdahost-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := dynamo.CreateTable(context.Background(), srv.Client(), table); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		deployenv.TableName: table, deployenv.EventBusName: "switchboard", deployenv.SecretsPrefix: "switchboard/",
		deployenv.StateMachinePrefix: "switchboard-", deployenv.StateMachineARNPrefix: "arn:aws:states:us-east-1:123456789012:stateMachine:switchboard-",
	}
	for k, v := range extra {
		vars[k] = v
	}
	env, err := lambdahost.LoadEnv(function, lookup(vars))
	if err != nil {
		t.Fatal(err)
	}
	h := lambdahost.New(env, clientsFor(srv.Endpoint, fake.URL), lambdahost.Options{Log: quiet})
	return testHost{Host: h, srv: srv, fake: fake, table: table, env: env}
}

// A workflow that never waits runs whole in the dispatcher's invocation,
// so publishing it deploys no state machine (nothing would ever start one);
// a workflow that waits still gets its machine.
func TestWorkflowThatNeverWaitsDeploysNoMachine(t *testing.T) {
	th := newTestHost(t, deployenv.API, map[string]string{ // the api function publishes
		deployenv.TaskFunctionARN:      "arn:aws:lambda:us-east-1:123456789012:function:task",
		deployenv.StateMachineRoleARN:  "arn:aws:iam::123456789012:role/machines",
		deployenv.StateMachineLogGroup: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/switchboard:*",
	})
	ctx := context.Background()
	admin := engine.Person("seed", routing.RoleAdmin)
	if _, err := th.Engine.CreateTeam(ctx, routing.Team{ID: "general", Name: "General", Strategy: routing.LeastOpen, Mode: routing.ModeAutomatic}, admin); err != nil {
		t.Fatal(err)
	}
	publish := func(src string) routing.WorkflowVersion {
		t.Helper()
		wf, problems, err := th.Flows.SaveDraft(ctx, []byte(src), admin, 0)
		if err != nil || len(problems) > 0 {
			t.Fatalf("save: %v %v", problems, err)
		}
		v, err := th.Flows.Publish(ctx, wf.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := publish(`{"id":"inline","name":"Inline","trigger":{"type":"conversation_opened"},"steps":[{"id":"a","type":"assign","team":"general"}]}`)
	if v.RunnerRef != flows.InlineRunnerRef || len(th.fake.Calls("CreateStateMachine")) != 0 {
		t.Fatalf("a workflow that never waits: runner ref %q, %d state machines created", v.RunnerRef, len(th.fake.Calls("CreateStateMachine")))
	}
	v = publish(`{"id":"waits","name":"Waits","trigger":{"type":"conversation_opened"},"steps":[{"id":"w","type":"wait","duration":"5m"},{"id":"a","type":"assign","team":"general"}]}`)
	if v.RunnerRef == flows.InlineRunnerRef || len(th.fake.Calls("CreateStateMachine")) != 1 {
		t.Fatalf("a workflow that waits: runner ref %q, %d state machines created", v.RunnerRef, len(th.fake.Calls("CreateStateMachine")))
	}
}

func TestHostInProcess(t *testing.T) {
	th := newTestHost(t, deployenv.Dispatcher, nil)
	srv, fake, table, env, h := th.srv, th.fake, th.table, th.env, th.Host
	ctx := context.Background()
	admin := engine.Person("seed", routing.RoleAdmin)
	if _, err := h.Engine.CreateTeam(ctx, routing.Team{ID: "general", Name: "General", Strategy: routing.LeastOpen, Mode: routing.ModeAutomatic}, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.CreateAgent(ctx, routing.Agent{ID: "ana", Name: "Ana", MaxConcurrent: 2, Teams: []string{"general"}, Status: routing.StatusOnline}, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.CreateChannel(ctx, routing.Channel{ID: "web", Provider: "generic", ExternalID: "web", Name: "Web",
		SecretRef: "aws:switchboard/web", Config: map[string]string{"team": "general"}}, admin); err != nil {
		t.Fatal(err)
	}
	fake.PutSecret("switchboard/web", "sample-webhook-secret-web")

	var req lambdaevents.APIGatewayV2HTTPRequest
	b, _ := os.ReadFile(filepath.Join(modroot.Must(t), "events", "testdata", "apigw-webhook-generic.json"))
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	res, err := h.HandleWebhook(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("webhook %d %s %v", res.StatusCode, res.Body, err)
	}
	// the api function does not serve webhooks (API Gateway sends them to the webhooks function)
	if res, _ := h.HandleAPI(ctx, req); res.StatusCode != 404 {
		t.Errorf("api served a webhook: %d", res.StatusCode)
	}
	// The webhook's commit wrote its events to the outbox; the relay
	// function publishes them from the table's stream.
	if len(fake.Events()) != 0 {
		t.Fatalf("the webhook published %d events itself; only the relay publishes", len(fake.Events()))
	}
	batch, err := srv.StreamEvent(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := h.HandleStream(ctx, batch); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("relay: %+v %v", resp, err)
	}
	var opened awsfake.PutEventsEntry
	for _, e := range fake.Events() {
		if e.DetailType == events.ConversationOpened {
			opened = e
		}
	}
	if opened.Detail == "" {
		t.Fatalf("no conversation.opened among %+v", fake.Events())
	}
	var when time.Time
	_ = json.Unmarshal(opened.Time, &when)
	ev := lambdaevents.CloudWatchEvent{Version: "0", ID: "eb-1", DetailType: opened.DetailType, Source: opened.Source, Time: when, Detail: json.RawMessage(opened.Detail)}
	if err := h.HandleEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	page, err := h.Store.ListConversations(ctx, store.ConversationFilter{AssigneeID: "ana"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("assigned to ana: %d, %v", len(page.Items), err)
	}
	// a Step Functions "Execution Status Change" (the stack's rule on the
	// default bus) records the run's end on the timeline, once
	conv := page.Items[0].ID
	input, _ := json.Marshal(fmt.Sprintf(`{"conversationId":%q,"workflowId":"wf","version":2}`, conv))
	status := lambdaevents.CloudWatchEvent{Version: "0", ID: "sfn-1", Source: "aws.states", DetailType: "Step Functions Execution Status Change",
		Detail: json.RawMessage(`{"name":"wf-v2-abc","status":"SUCCEEDED","stopDate":1767603660000,"input":` + string(input) + `,"output":"{}"}`)}
	for i := 0; i < 2; i++ {
		if err := h.HandleEvent(ctx, status); err != nil {
			t.Fatal(err)
		}
	}
	tl, err := h.Store.Events(ctx, conv, store.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for _, e := range tl.Items {
		if e.Type == routing.EvWorkflowEnded {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("workflow.ended %d times after two status-change deliveries, want 1", ended)
	}
	// foreign sources are ignored
	n := len(fake.Calls())
	if err := h.HandleEvent(ctx, lambdaevents.CloudWatchEvent{Source: "aws.events", DetailType: "Scheduled Event", Detail: json.RawMessage(`{}`)}); err != nil {
		t.Errorf("foreign event: %v", err)
	}
	if len(fake.Calls()) != n {
		t.Error("a foreign event caused calls")
	}

	// task errors carry the Step deployenv.Functions error name as errorType
	_, err = h.HandleTask(ctx, json.RawMessage(`{"action":"teleport","state":{"conversationId":"x"}}`))
	var ie messages.InvokeResponse_Error
	if !errors.As(err, &ie) || ie.Type != "InvalidTask" {
		t.Errorf("invalid task: %#v", err)
	}
	down := lambdahost.New(env, clientsFor("http://127.0.0.1:1", fake.URL), lambdahost.Options{Log: quiet})
	_, err = down.HandleTask(ctx, json.RawMessage(`{"action":"snapshot","step":"s","params":{},"state":{"conversationId":"`+page.Items[0].ID+`","workflowId":"w","version":1}}`))
	if !errors.As(err, &ie) || ie.Type != "TransientError" {
		t.Errorf("storage down: %#v", err)
	}
	// a dispatcher error is returned, so Lambda retries the event
	if err := down.HandleEvent(ctx, ev); err == nil {
		t.Error("a failed dispatch returned no error")
	}
}
