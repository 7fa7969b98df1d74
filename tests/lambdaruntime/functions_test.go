package lambdaruntime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/modroot"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
)

// The identities and secret the samples of events/testdata use.
const (
	adminSub      = "4f6c1c7e-9b2a-4d3e-8f10-2a5b6c7d8e9f"
	webSecret     = "sample-webhook-secret-web"
	secretName    = "switchboard/web"
	smPrefix      = "switchboard-"
	taskARN       = "arn:aws:lambda:us-east-1:123456789012:function:Switchboard-TaskFunction"
	smRoleARN     = "arn:aws:iam::123456789012:role/Switchboard-StateMachineRole"
	smLogGroupARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/Switchboard-workflows:*"
)

// configCacheSeconds is the functions' configuration cache here: the
// stack's default is deployenv.DefaultConfigCacheSeconds; 1 s lets the test
// wait out a cached workflow list after publishing.
const configCacheSeconds = 1

// stackEnv is what infra/stack gives each function (docs/deploy.md), for
// a table and the fakes.
func stackEnv(fn, table string) map[string]string {
	all := map[string]string{
		deployenv.TableName:             table,
		deployenv.EventBusName:          "switchboard",
		deployenv.SecretsPrefix:         "switchboard/",
		deployenv.SessionHours:          "12",
		deployenv.SessionWarningMinutes: "30",
		deployenv.ConfigCacheSeconds:    strconv.Itoa(configCacheSeconds),
		deployenv.StateMachinePrefix:    smPrefix,
		deployenv.StateMachineARNPrefix: "arn:aws:states:us-east-1:123456789012:stateMachine:" + smPrefix,
		deployenv.TaskFunctionARN:       taskARN,
		deployenv.StateMachineRoleARN:   smRoleARN,
		deployenv.StateMachineLogGroup:  smLogGroupARN,
	}
	keep := map[string]bool{}
	for _, k := range lambdahost.Required(fn) {
		keep[k] = true
	}
	if fn == deployenv.API || fn == deployenv.Dispatcher || fn == deployenv.Sweeper {
		keep[deployenv.SessionHours], keep[deployenv.SessionWarningMinutes] = true, true
	}
	if fn == deployenv.Webhooks || fn == deployenv.Dispatcher || fn == deployenv.Task || fn == deployenv.Sweeper {
		keep[deployenv.ConfigCacheSeconds] = true
	}
	out := map[string]string{}
	for k, v := range all {
		if keep[k] {
			out[k] = v
		}
	}
	return out
}

type fixture struct {
	table string
	store *dynamo.Store
	fake  *awsfake.Server
	dir   string
	ddb   string // DynamoDB Local endpoint
	procs map[string]*proc
	srv   *dynamolocal.Server
	// relayed holds the stream records already handed to the relay.
	relayed map[string]bool
}

func (f *fixture) env(fn string) map[string]string {
	e := stackEnv(fn, f.table)
	e["AWS_ENDPOINT_URL_DYNAMODB"] = f.ddb
	e["AWS_ENDPOINT_URL_EVENTBRIDGE"] = f.fake.URL
	e["AWS_ENDPOINT_URL_SFN"] = f.fake.URL
	e["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = f.fake.URL
	return e
}

func setup(t *testing.T) *fixture {
	ddb := dynamolocal.Shared(t)
	dir := buildFunctions(t)
	ctx := context.Background()
	f := &fixture{table: "lambdaruntime-" + randomSuffix(), dir: dir, ddb: ddb.Endpoint, procs: map[string]*proc{}, srv: ddb, relayed: map[string]bool{}}
	client := ddb.Client()
	if err := dynamo.CreateTable(ctx, client, f.table); err != nil {
		t.Fatal(err)
	}
	f.store = dynamo.New(client, f.table)
	f.fake = awsfake.New()
	t.Cleanup(f.fake.Close)
	f.fake.PutSecret(secretName, webSecret)

	// Bruno's session started 13 hours ago: the sweeper must end it.
	clk := clock.NewVirtual(time.Now().Add(-13 * time.Hour))
	eng := engine.New(engine.Deps{Store: f.store, Clock: clk, IDs: ids.Random{}}, engine.Config{})
	seed := engine.Person("seed", routing.RoleAdmin)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range []routing.Team{
		{ID: "general", Name: "General", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "spanish", Name: "Spanish speakers", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "support", Name: "Support", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic}, // S2 reassigns there
	} {
		must(eng.CreateTeam(ctx, tm, seed))
	}
	must(eng.CreateAgent(ctx, routing.Agent{ID: "bruno", Name: "Bruno", Role: routing.RoleAgent, MaxConcurrent: 2, Status: routing.StatusOnline}, seed))
	clk.Set(time.Now())
	must(eng.CreateAgent(ctx, routing.Agent{ID: adminSub, Name: "Admin", Role: routing.RoleAdmin, Status: routing.StatusOffline}, seed))
	must(eng.CreateAgent(ctx, routing.Agent{ID: "ana", Name: "Ana", Role: routing.RoleAgent, MaxConcurrent: 3, Teams: []string{"general", "spanish"}, Status: routing.StatusOnline}, seed))
	must(eng.CreateChannel(ctx, routing.Channel{ID: "web", Provider: "generic", ExternalID: "web", Name: "Web chat",
		SecretRef: "aws:" + secretName, Config: map[string]string{"team": "general"}}, seed))
	return f
}

func (f *fixture) start(t *testing.T, fn string) *proc {
	p := startFunction(t, f.dir, fn, f.env(fn))
	select {
	case <-p.exited:
		t.Fatalf("%s exited at init (%v):\n%s", fn, p.waitErr, p.output.String())
	default:
	}
	f.procs[fn] = p
	return p
}

// apiResponse decodes an API Gateway answer.
func apiResponse(t *testing.T, r resultLike) lambdaevents.APIGatewayV2HTTPResponse {
	t.Helper()
	if r.errType() != "" {
		t.Fatalf("function error %s: %s", r.errType(), r.errMsg())
	}
	var res lambdaevents.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(r.payload(), &res); err != nil {
		t.Fatalf("answer %s: %v", r.payload(), err)
	}
	return res
}

type resultLike interface {
	errType() string
	errMsg() string
	payload() []byte
}

type res struct {
	typ, msg string
	body     []byte
}

func (r res) errType() string { return r.typ }
func (r res) errMsg() string  { return r.msg }
func (r res) payload() []byte { return r.body }

func (p *proc) call(t *testing.T, payload []byte) res {
	t.Helper()
	r := p.invoke(t, payload)
	return res{typ: r.ErrorType, msg: r.ErrorMessage, body: r.Payload}
}

// request is an API Gateway request made from the apigw-me sample (admin claims).
func request(t *testing.T, method, path, body string) []byte {
	t.Helper()
	var ev lambdaevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(sample(t, "apigw-me.json"), &ev); err != nil {
		t.Fatal(err)
	}
	p, q, _ := strings.Cut(path, "?")
	ev.RawPath, ev.RawQueryString = p, q
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, p
	ev.Body = body
	if body != "" {
		ev.Headers["content-type"] = "application/json"
	}
	ev.Headers["content-length"] = fmt.Sprint(len(body))
	b, _ := json.Marshal(ev)
	return b
}

// webhook is the generic webhook sample with another message, signed again.
func webhook(t *testing.T, messageID, from, text string) []byte {
	t.Helper()
	var ev lambdaevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(sample(t, "apigw-webhook-generic.json"), &ev); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(ev.Body), &m)
	m["messageId"], m["from"], m["text"] = messageID, from, text
	b, _ := json.Marshal(m)
	ev.Body = string(b)
	ev.Headers["content-length"] = fmt.Sprint(len(b))
	ev.Headers["x-switchboard-signature"] = generic.Sign(webSecret, b)
	out, _ := json.Marshal(ev)
	return out
}

// delivered turns an entry the fake EventBridge received into the event
// EventBridge delivers to the dispatcher.
func delivered(t *testing.T, e awsfake.PutEventsEntry, ebID string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": ebID, "detail-type": e.DetailType, "source": e.Source, "account": "123456789012",
		"time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail": json.RawMessage(e.Detail),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// relayOutbox hands the table's new stream records to the relay function,
// as the event source mapping does on AWS: the events the other functions
// committed to the outbox reach the (fake) bus only through it.
func (f *fixture) relayOutbox(t *testing.T) {
	t.Helper()
	p := f.procs[deployenv.Relay]
	if p == nil {
		t.Fatal("the relay function is not running")
	}
	batch, err := f.srv.StreamEvent(context.Background(), f.table)
	if err != nil {
		t.Fatal(err)
	}
	var fresh lambdaevents.DynamoDBEvent
	for _, r := range batch.Records {
		if !f.relayed[r.Change.SequenceNumber] {
			f.relayed[r.Change.SequenceNumber] = true
			fresh.Records = append(fresh.Records, r)
		}
	}
	if len(fresh.Records) == 0 {
		return
	}
	b, err := json.Marshal(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.call(t, b); r.typ != "" || strings.Contains(string(r.body), "itemIdentifier") {
		t.Fatalf("relay: %s %s %s", r.typ, r.msg, r.body)
	}
}

// published finds the entry of detailType whose detail names conv, after
// relaying the outbox.
func (f *fixture) published(t *testing.T, detailType, conv string) (awsfake.PutEventsEntry, int) {
	t.Helper()
	f.relayOutbox(t)
	var found awsfake.PutEventsEntry
	n := 0
	for _, e := range f.fake.Events() {
		if e.DetailType == detailType && strings.Contains(e.Detail, `"`+conv+`"`) {
			found = e
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no %s event for %s among %d published", detailType, conv, len(f.fake.Events()))
	}
	return found, n
}

func (f *fixture) conversationOf(t *testing.T, externalID string) routing.Conversation {
	t.Helper()
	ctx := context.Background()
	ct, err := f.store.ContactByExternalID(ctx, "web", externalID)
	if err != nil {
		t.Fatalf("contact %s: %v", externalID, err)
	}
	page, err := f.store.ListConversations(ctx, store.ConversationFilter{ContactID: ct.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("%d conversations for %s, want 1", len(page.Items), externalID)
	}
	return page.Items[0]
}

func taskPayload(t *testing.T, name, conv string, mutate func(map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(sample(t, name), &p); err != nil {
		t.Fatal(err)
	}
	p["state"].(map[string]any)["conversationId"] = conv
	if mutate != nil {
		mutate(p)
	}
	b, _ := json.Marshal(p)
	return b
}

func TestFunctionsOnTheRuntimeAPI(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for _, fn := range deployenv.Functions {
		f.start(t, fn)
	}
	api, hooks, dispatcher, task, sweeper := f.procs["api"], f.procs["webhooks"], f.procs["dispatcher"], f.procs["task"], f.procs["sweeper"]

	t.Run("api", func(t *testing.T) {
		r := apiResponse(t, api.call(t, sample(t, "apigw-health.json")))
		if r.StatusCode != 200 || !contains(r.Body, `"status":"ok"`) {
			t.Errorf("health: %d %s", r.StatusCode, r.Body)
		}
		r = apiResponse(t, api.call(t, sample(t, "apigw-me.json")))
		if r.StatusCode != 200 || !contains(r.Body, adminSub, `"admin"`) {
			t.Errorf("me: %d %s", r.StatusCode, r.Body)
		}
		r = apiResponse(t, api.call(t, sample(t, "apigw-create-team.json")))
		if r.StatusCode != 201 || !contains(r.Body, `"id":"sales"`) {
			t.Errorf("create team: %d %s", r.StatusCode, r.Body)
		}
		if _, err := f.store.GetTeam(ctx, "sales"); err != nil {
			t.Errorf("the team is not in DynamoDB: %v", err)
		}
		r = apiResponse(t, api.call(t, sample(t, "apigw-list-conversations.json")))
		if r.StatusCode != 200 || !contains(r.Body, `"items"`) {
			t.Errorf("list: %d %s", r.StatusCode, r.Body)
		}
		// without the authorizer's claims, a client's headers prove nothing
		var ev lambdaevents.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(sample(t, "apigw-me.json"), &ev)
		ev.RequestContext.Authorizer = nil
		ev.Headers["x-switchboard-claims"] = `{"sub":"` + adminSub + `","custom:role":"admin"}`
		b, _ := json.Marshal(ev)
		if r = apiResponse(t, api.call(t, b)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("no claims: %d %s", r.StatusCode, r.Body)
		}
	})

	var conv routing.Conversation
	t.Run("webhooks", func(t *testing.T) {
		f.relayOutbox(t)
		before := len(f.fake.Events())
		r := apiResponse(t, hooks.call(t, sample(t, "apigw-webhook-generic.json")))
		if r.StatusCode != 200 || !contains(r.Body, `"ok":true`) {
			t.Fatalf("webhook: %d %s", r.StatusCode, r.Body)
		}
		conv = f.conversationOf(t, "visitor-42")
		if conv.Status != routing.ConvPending && conv.Status != routing.ConvOpen {
			t.Errorf("conversation %+v", conv)
		}
		opened, _ := f.published(t, events.ConversationOpened, conv.ID)
		if opened.EventBusName != "switchboard" || opened.Source != events.Source || !contains(opened.Detail, eventbus.IDField) {
			t.Errorf("opened event %+v", opened)
		}
		f.published(t, events.MessageReceived, conv.ID)
		// the provider retries: same message, nothing new
		r = apiResponse(t, hooks.call(t, sample(t, "apigw-webhook-generic.json")))
		if r.StatusCode != 200 {
			t.Errorf("redelivery: %d %s", r.StatusCode, r.Body)
		}
		if again := f.conversationOf(t, "visitor-42"); again.ID != conv.ID {
			t.Errorf("redelivery opened %s", again.ID)
		}
		f.relayOutbox(t)
		if n := len(f.fake.Events()) - before; n != 2 {
			t.Errorf("%d events published for one message delivered twice, want 2 (opened, received)", n)
		}
		// a bad signature is refused
		var ev lambdaevents.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(sample(t, "apigw-webhook-generic.json"), &ev)
		ev.Headers["x-switchboard-signature"] = generic.Sign("wrong", []byte(ev.Body))
		b, _ := json.Marshal(ev)
		if r = apiResponse(t, hooks.call(t, b)); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad signature: %d %s", r.StatusCode, r.Body)
		}
	})
	if conv.ID == "" {
		t.FailNow()
	}

	t.Run("dispatcher routes by default", func(t *testing.T) {
		opened, _ := f.published(t, events.ConversationOpened, conv.ID)
		ev := delivered(t, opened, "5a1c6f02-0000-4000-8000-000000000001")
		for i := 0; i < 2; i++ { // EventBridge delivers at least once
			if r := dispatcher.call(t, ev); r.typ != "" || strings.TrimSpace(string(r.body)) != "null" {
				t.Fatalf("dispatch %d: %s %s %s", i, r.typ, r.msg, r.body)
			}
		}
		c, err := f.store.GetConversation(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != routing.ConvOpen || c.AssigneeID != "ana" || c.Assignments != 1 {
			t.Errorf("after dispatch: status %s assignee %q assignments %d", c.Status, c.AssigneeID, c.Assignments)
		}
		if r := dispatcher.call(t, sample(t, "eventbridge-capacity-released.json")); r.typ != "" {
			t.Errorf("capacity.released: %s %s", r.typ, r.msg)
		}
	})

	var conv2 routing.Conversation
	t.Run("publish a workflow and start it", func(t *testing.T) {
		// S2 waits, so the dispatcher runs its leading stretch (assign to Ana)
		// and starts a Standard execution at the wait.
		src, err := os.ReadFile(filepath.Join(modroot.Must(t), "docs", "examples", "s2-reassign-unanswered.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		r := apiResponse(t, api.call(t, request(t, "POST", "/v1/workflows", string(src))))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("save draft: %d %s", r.StatusCode, r.Body)
		}
		r = apiResponse(t, api.call(t, request(t, "POST", "/v1/workflows/reassign-unanswered/publish", "")))
		if r.StatusCode != 200 || !contains(r.Body, `"version":1`) {
			t.Fatalf("publish: %d %s", r.StatusCode, r.Body)
		}
		def, typ, ok := f.fake.Machine(smPrefix + "reassign-unanswered")
		if !ok || typ != "STANDARD" || !contains(def, taskARN) || strings.Contains(def, "${TaskFunctionArn}") {
			t.Fatalf("state machine: %v %s\n%s", ok, typ, def)
		}
		var create struct {
			RoleArn              string `json:"roleArn"`
			TracingConfiguration struct{ Enabled bool }
			LoggingConfiguration struct {
				Destinations []struct {
					CloudWatchLogsLogGroup struct{ LogGroupArn string }
				}
			}
		}
		_ = json.Unmarshal(f.fake.Calls("CreateStateMachine")[0].Body, &create)
		if create.RoleArn != smRoleARN || !create.TracingConfiguration.Enabled ||
			len(create.LoggingConfiguration.Destinations) != 1 || create.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn != smLogGroupARN {
			t.Errorf("create input %s", f.fake.Calls("CreateStateMachine")[0].Body)
		}
		if len(f.fake.Calls("PublishStateMachineVersion")) != 1 || len(f.fake.Calls("CreateStateMachineAlias")) != 1 {
			t.Errorf("publish/alias calls: %d/%d", len(f.fake.Calls("PublishStateMachineVersion")), len(f.fake.Calls("CreateStateMachineAlias")))
		}

		// The dispatcher's warm instance keeps the published workflows it read
		// for CONFIG_CACHE_SECONDS: the api's publish reaches it after that.
		time.Sleep(configCacheSeconds*time.Second + 100*time.Millisecond)

		// a new contact: the dispatcher runs the workflow instead of routing
		r = apiResponse(t, hooks.call(t, webhook(t, "m-20260504-0002", "visitor-43", "Hola")))
		if r.StatusCode != 200 {
			t.Fatalf("webhook: %d %s", r.StatusCode, r.Body)
		}
		conv2 = f.conversationOf(t, "visitor-43")
		opened, _ := f.published(t, events.ConversationOpened, conv2.ID)
		if d := dispatcher.call(t, delivered(t, opened, "5a1c6f02-0000-4000-8000-000000000002")); d.typ != "" {
			t.Fatalf("dispatch: %s %s", d.typ, d.msg)
		}
		starts := f.fake.Calls("StartExecution")
		if len(starts) != 1 {
			t.Fatalf("%d executions started", len(starts))
		}
		var in struct {
			StateMachineArn, Name, Input string
		}
		_ = json.Unmarshal(starts[0].Body, &in)
		if in.StateMachineArn != "arn:aws:states:us-east-1:123456789012:stateMachine:"+smPrefix+"reassign-unanswered:1" ||
			!contains(in.Input, conv2.ID, `"workflowId":"reassign-unanswered"`) || in.Name == "" {
			t.Errorf("start %+v", in)
		}
		if c, _ := f.store.GetConversation(ctx, conv2.ID); c.AssigneeID != "ana" || c.Assignments != 1 {
			t.Errorf("after the leading stretch: assignee %q, %d assignments (want ana, once: no default routing)", c.AssigneeID, c.Assignments)
		}
	})
	if conv2.ID == "" {
		t.FailNow()
	}

	var conv3 routing.Conversation
	t.Run("task", func(t *testing.T) {
		// a conversation nobody routed yet: its opened event is not dispatched
		if r := apiResponse(t, hooks.call(t, webhook(t, "m-20260504-0003", "visitor-44", "Hola"))); r.StatusCode != 200 {
			t.Fatalf("webhook: %d %s", r.StatusCode, r.Body)
		}
		conv3 = f.conversationOf(t, "visitor-44")
		r := task.call(t, taskPayload(t, "sfn-task-assign.json", conv3.ID, func(p map[string]any) {
			p["params"] = map[string]any{"teamId": "spanish"}
		}))
		if r.typ != "" || !contains(string(r.body), `"status":"assigned"`, `"agentId":"ana"`) {
			t.Fatalf("assign: %s %s %s", r.typ, r.msg, r.body)
		}
		r = task.call(t, taskPayload(t, "sfn-task-snapshot.json", conv3.ID, nil))
		var snap struct {
			Conversation struct{ Status, AssigneeID, TeamID string }
		}
		if r.typ != "" || json.Unmarshal(r.body, &snap) != nil || snap.Conversation.Status != "open" || snap.Conversation.AssigneeID != "ana" {
			t.Errorf("snapshot: %s %s %s", r.typ, r.msg, r.body)
		}
		r = task.call(t, taskPayload(t, "sfn-task-comment.json", conv3.ID, nil))
		if r.typ != "" {
			t.Errorf("comment: %s %s", r.typ, r.msg)
		}
		r = task.call(t, taskPayload(t, "sfn-task-close.json", conv3.ID, func(p map[string]any) { p["action"] = "teleport" }))
		if r.typ != "InvalidTask" {
			t.Errorf("unknown action: errorType %q (%s)", r.typ, r.msg)
		}
	})

	t.Run("task errors are TransientError when storage is down", func(t *testing.T) {
		env := f.env(deployenv.Task)
		env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:1" // nothing listens there
		env["AWS_MAX_ATTEMPTS"] = "1"
		p := startFunction(t, f.dir, deployenv.Task, env)
		r := p.call(t, taskPayload(t, "sfn-task-snapshot.json", conv3.ID, nil))
		if r.typ != "TransientError" {
			t.Errorf("errorType %q (%s), want TransientError: the machines retry on that name", r.typ, r.msg)
		}
	})

	t.Run("sweeper", func(t *testing.T) {
		r := sweeper.call(t, sample(t, "scheduled-sweeper.json"))
		var out engine.SweepResult
		if r.typ != "" || json.Unmarshal(r.body, &out) != nil || out.Disconnected != 1 {
			t.Fatalf("sweep: %s %s %s", r.typ, r.msg, r.body)
		}
		if b, _ := f.store.GetAgent(ctx, "bruno"); b.Status != routing.StatusOffline {
			t.Errorf("bruno is %s after his session ended", b.Status)
		}
		if a, _ := f.store.GetAgent(ctx, "ana"); a.Status != routing.StatusOnline {
			t.Errorf("ana is %s", a.Status)
		}
	})

	t.Run("report", func(t *testing.T) {
		t.Logf("| function | binary (%s/%s, -s -w) | init (process start to first /next) |", goos(), goarch())
		for _, fn := range deployenv.Functions {
			p := f.procs[fn]
			t.Logf("| %s | %s | %v |", fn, mb(fileSize(t, filepath.Join(f.dir, fn))), p.InitTime.Round(100*time.Microsecond))
		}
	})
}

func TestInitErrorIsReported(t *testing.T) {
	dir := buildFunctions(t)
	env := stackEnv(deployenv.API, "t")
	delete(env, deployenv.TableName)
	p := startFunction(t, dir, deployenv.API, env)
	select {
	case e := <-p.rt.InitErrors():
		if e.Type != lambdahost.InitErrorType || !strings.Contains(e.Message, "TABLE_NAME is not set") {
			t.Errorf("init error %+v", e)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("no init error; output:\n%s", p.output.String())
	}
	<-p.exited
	if p.cmd.ProcessState.ExitCode() == 0 {
		t.Error("the function exited 0 after an init error")
	}
	if !p.rt.FirstNext().IsZero() {
		t.Error("the function asked for invocations after failing its init")
	}
}
