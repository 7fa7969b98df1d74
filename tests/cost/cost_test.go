// Package cost measures what one routed conversation costs on AWS: it runs
// the seeds' workflows (docs/examples) on their happy paths through the real
// code of the Lambda functions (lambdahost: DynamoDB store on DynamoDB Local
// with consumed capacity, EventBridge publisher against a recording fake,
// webhook handler, dispatcher and task function of the workflow service),
// with the workflows' ASL executed by the embedded runner (shared/asl, which
// counts state transitions as Step Functions bills them), counts every billed
// request and prices the counts.
//
//	go test ./tests/cost -run TestCostPerRoutedConversation -v           # print the table
//	go test ./tests/cost -run TestCostPerRoutedConversation -update      # rewrite it in docs/benchmarks.md
package cost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchboard-oss/switchboard/shared/asl"
	"github.com/switchboard-oss/switchboard/shared/aws/awsfake"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost"
	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/engine"
	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/flows/localasl"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/store"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo/dynamolocal"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

var update = flag.Bool("update", false, "rewrite the generated table in docs/benchmarks.md")

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// Prices: AWS list prices, us-east-1, on-demand, beyond the free tiers.
// Checked 2026-11-23 against the AWS pricing pages' figures as quoted by
// pricing summaries dated March-June 2026 (unchanged since DynamoDB's
// November 2024 on-demand price cut); CloudWatch Logs' standard-class
// ingestion price ($0.50 per GB) is the one AWS has listed since 2014,
// not re-checked on 2026-12-06 (no network access from this run).
var prices = struct {
	Date                  string
	SFNTransition         float64 // Standard, per state transition
	SFNExpressRequest     float64 // Express, per execution
	SFNExpressGBSecond    float64 // Express duration, billed per 100 ms in 64 MB chunks
	LambdaRequest         float64
	LambdaGBSecondARM     float64 // arm64, first 7.5 billion GB-s per month
	EventBridgeEvent      float64 // custom event, per 64 KB chunk
	DynamoWRU, DynamoRRU  float64 // on-demand request units
	APIGatewayHTTPRequest float64 // HTTP API, first 300 million per month
	LogsIngestedGB        float64 // CloudWatch Logs, standard class, per GB ingested
}{
	Date:                  "2026-11-23",
	SFNTransition:         0.025 / 1000,
	SFNExpressRequest:     1.00 / 1e6,
	SFNExpressGBSecond:    0.00001667,
	LambdaRequest:         0.20 / 1e6,
	LambdaGBSecondARM:     0.0000133334,
	EventBridgeEvent:      1.00 / 1e6,
	DynamoWRU:             0.625 / 1e6,
	DynamoRRU:             0.125 / 1e6,
	APIGatewayHTTPRequest: 1.00 / 1e6,
	LogsIngestedGB:        0.50,
}

// Assumptions that are not counted but estimated.
const (
	lambdaMemoryGB     = 0.25 // the stack's memorySize default, 256 MB
	lambdaSeconds      = 0.05 // billed duration of one invocation (a few DynamoDB calls from Go)
	expressMemoryGB    = 0.0625
	expressTaskSeconds = 0.05 // an Express execution lasts about the sum of its tasks
	// CloudWatch Logs bills the bytes of each event; we add 26 bytes per
	// event (the per-event overhead PutLogEvents counts) to the JSON lines
	// the functions write at INFO, the stack's application log level (the
	// system log level is WARN: no START/END/REPORT lines).
	logEventOverhead = 26
	// API Gateway access logs: one JSON line per HTTP request (the stack's
	// accessLogFormat), about this many bytes: a WhatsApp webhook's line
	// rendered from that format is 374.
	accessLogBytes = 375
)

// meter counts billed requests.
type meter struct {
	Webhooks, Dispatcher, Task, API int // Lambda invocations by function
	Relay                           int // relay invocations: one per outbox item (a batch of its own at low traffic)
	Events                          int // PutEvents entries (custom events)
	Executions, Transitions         int
	Express                         bool
	TaskCalls                       int // tasks run inside executions (= Task)
	DynamoRequests                  int64
	RRU                             float64 // DynamoDB Local's consumed read capacity (reads follow AWS's rules)
	WRULocal                        float64 // DynamoDB Local's consumed write capacity (under-reports: not billed)
	WRU, IndexWRU                   float64 // as AWS bills them (billedDynamo): items, index entries
	LogBytes, LogLines              int     // the functions' log lines at INFO
	Assigned                        string  // who got the conversation, "team:agent"
	// ByKind is WRU+IndexWRU by kind of item written (itemKind); it includes
	// writes left out of the counts above, so it is reported only for rows
	// with none (default routing, a further message).
	ByKind map[string]float64
}

// logBytes is what CloudWatch Logs ingests: the lines, their overhead and
// the API Gateway access log lines.
func (m meter) logBytes() int {
	return m.LogBytes + m.LogLines*logEventOverhead + (m.Webhooks+m.API)*accessLogBytes
}

func (m meter) lambda() int { return m.Webhooks + m.Relay + m.Dispatcher + m.Task + m.API }

type dollars struct{ SFN, SFNStandard, Lambda, EventBridge, Dynamo, APIGateway, Logs float64 }

func (d dollars) total() float64 {
	return d.SFN + d.Lambda + d.EventBridge + d.Dynamo + d.APIGateway + d.Logs
}

func price(m meter) dollars {
	var d dollars
	d.SFNStandard = float64(m.Transitions) * prices.SFNTransition
	if m.Express {
		billed := math.Ceil(float64(m.Task)*expressTaskSeconds*10) / 10 // rounded up to 100 ms
		d.SFN = float64(m.Executions) * (prices.SFNExpressRequest + billed*expressMemoryGB*prices.SFNExpressGBSecond)
	} else {
		d.SFN = d.SFNStandard
	}
	d.Lambda = float64(m.lambda()) * (prices.LambdaRequest + lambdaMemoryGB*lambdaSeconds*prices.LambdaGBSecondARM)
	d.EventBridge = float64(m.Events) * prices.EventBridgeEvent
	d.Dynamo = m.RRU*prices.DynamoRRU + (m.WRU+m.IndexWRU)*prices.DynamoWRU
	d.APIGateway = float64(m.Webhooks+m.API) * prices.APIGatewayHTTPRequest
	d.Logs = float64(m.logBytes()) / (1 << 30) * prices.LogsIngestedGB
	return d
}

// recording wraps the embedded runner, noting each execution started.
type recording struct {
	*localasl.LocalRunner
	mu      sync.Mutex
	names   []string
	express map[string]bool
}

func (r *recording) Start(ctx context.Context, req flows.StartRequest) error {
	r.mu.Lock()
	r.names = append(r.names, req.Name)
	r.express[req.Name] = req.Express
	r.mu.Unlock()
	return r.LocalRunner.Start(ctx, req)
}

// world is one scenario's AWS side: a fresh table, the fakes, the host.
type world struct {
	t       *testing.T
	ctx     context.Context
	clk     *clock.Virtual
	fake    *awsfake.Server
	host    *lambdahost.Host
	flows   *flows.Service
	runner  *recording
	db      *billedDynamo
	srv     *dynamolocal.Server
	table   string
	relayed map[string]bool // stream records already seen
	logs    *lineCounter
	m       meter
	seen    int // fake events already delivered to the dispatcher
	events  int // fake events before counting started
	ex      struct {
		requests     int64
		rru, wru     float64
		billed       billed
		events       int
		bytes, lines int
	}
	taskMu sync.Mutex
}

// lineCounter counts the bytes and lines the functions log.
type lineCounter struct {
	mu           sync.Mutex
	bytes, lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.bytes += len(p)
	c.lines += bytes.Count(p, []byte("\n"))
	c.mu.Unlock()
	return len(p), nil
}

func (c *lineCounter) get() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.lines
}

func root(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod")
		}
		dir = parent
	}
}

var tables int

// compile names the two compiles the report puts side by side.
type compile string

const (
	perStep   compile = "per step (before)"
	stretches compile = "stretches (now)"
)

func newWorld(t *testing.T, workflowFile string, how compile) *world {
	t.Helper()
	srv := dynamolocal.Shared(t)
	ctx := context.Background()
	tables++
	table := fmt.Sprintf("cost-%d-%d", time.Now().UnixNano(), tables)
	if err := dynamo.CreateTable(ctx, srv.Client(), table); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, clk: clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)), fake: awsfake.New()}
	t.Cleanup(w.fake.Close)
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	db, err := newBilledDynamo(ctx, srv.Client(), table)
	if err != nil {
		t.Fatal(err)
	}
	w.db, w.logs = db, &lineCounter{}
	w.srv, w.table, w.relayed = srv, table, map[string]bool{}
	// the functions' logger as shipped: JSON lines at INFO
	logger := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	clients := lambdahost.Clients{
		DynamoDB:       db,
		EventBridge:    eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.fake.URL), Credentials: creds}),
		StepFunctions:  awssfn.New(awssfn.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.fake.URL), Credentials: creds}),
		SecretsManager: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.fake.URL), Credentials: creds}),
	}
	env := lambdahost.Env{Function: "cost", TableName: table, EventBusName: "switchboard", SecretsPrefix: "switchboard/", AuthSubjectClaim: "sub",
		ConfigCacheSeconds: deployenv.DefaultConfigCacheSeconds} // as the stack sets it on the functions driven by events
	w.host = lambdahost.New(env, clients, lambdahost.Options{Clock: w.clk, IDs: ids.Random{}, Log: logger,
		StoreOptions: []dynamo.Option{dynamo.WithConsumedCapacity()}})
	// The workflows run on the embedded runner, which executes the same ASL
	// Step Functions would and counts its state transitions; its task
	// function is the task Lambda's handler.
	local := localasl.NewLocalRunner(func(inv asl.Invoker) *asl.Runner {
		return asl.NewRunner(asl.NewMemoryRunStore(), w.clk, inv, ids.Random{})
	})
	w.runner = &recording{LocalRunner: local, express: map[string]bool{}}
	// the dispatcher's and task function's workflow service: on their view of
	// the store (with the configuration cache the stack sets), not the api's
	w.flows = flows.New(flows.Deps{Engine: w.host.EventEngine, Store: w.host.EventStore, Runner: w.runner, Clock: w.clk, IDs: ids.Random{}, Log: logger})
	local.SetTask(func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		w.taskMu.Lock()
		w.m.Task++
		w.taskMu.Unlock()
		return w.flows.HandleTask(ctx, payload)
	})

	e, admin := w.host.Engine, engine.Person("seed", routing.RoleAdmin)
	for _, tm := range []routing.Team{
		{ID: "general", Name: "General", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "sales", Name: "Sales", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "support", Name: "Support", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "billing", Name: "Billing", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "tech_support", Name: "Technical Support", Strategy: routing.LeastOpen, OnlineOnly: true, Mode: routing.ModeAutomatic},
		{ID: "spanish", Name: "Spanish speakers", Strategy: routing.RoundRobin, OnlineOnly: true, Mode: routing.ModeAutomatic},
	} {
		if _, err := e.CreateTeam(ctx, tm, admin); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []routing.Agent{
		{ID: "ana", Name: "Ana", MaxConcurrent: 3, Teams: []string{"general", "sales"}, Status: routing.StatusOnline},
		{ID: "bruno", Name: "Bruno", MaxConcurrent: 3, Teams: []string{"general", "support"}, Status: routing.StatusOnline},
		{ID: "carla", Name: "Carla", MaxConcurrent: 2, Teams: []string{"billing"}, Status: routing.StatusOnline},
		{ID: "diego", Name: "Diego", MaxConcurrent: 2, Teams: []string{"tech_support", "spanish"}, Status: routing.StatusOnline},
	} {
		if _, err := e.CreateAgent(ctx, a, admin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.CreateChannel(ctx, routing.Channel{ID: "web", Provider: "generic", ExternalID: "web", Name: "Web chat",
		SecretRef: "aws:switchboard/web", Config: map[string]string{"team": "general"}}, admin); err != nil {
		t.Fatal(err)
	}
	w.fake.PutSecret("switchboard/web", "sample-webhook-secret-web")
	if workflowFile != "" {
		src, err := os.ReadFile(filepath.Join(root(t), "docs", "examples", workflowFile))
		if err != nil {
			t.Fatal(err)
		}
		wf, _, err := w.flows.SaveDraft(ctx, src, admin, 0)
		if err != nil {
			t.Fatal(err)
		}
		if how == perStep {
			w.publishPerStep(wf)
		} else if _, err := w.flows.Publish(ctx, wf.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	w.reset()
	return w
}

// publishPerStep publishes version 1 of a saved draft compiled per step
// (workflow.Options{PerStep: true}), the compile before stretches, the way
// flows.Publish records a version: deployed, then recorded with its
// runner reference. Runs of it start at the first step, as before.
func (w *world) publishPerStep(wf routing.Workflow) {
	w.t.Helper()
	def, err := workflow.Parse(wf.Definition)
	if err != nil {
		w.t.Fatal(err)
	}
	machine, err := workflow.CompileWith(def, workflow.Options{PerStep: true})
	if err != nil {
		w.t.Fatal(err)
	}
	v := routing.WorkflowVersion{WorkflowID: wf.ID, Number: 1, Trigger: def.Trigger.Type, Definition: wf.Definition, ASL: machine, PublishedAt: w.clk.Now()}
	if v.RunnerRef, err = w.runner.Deploy(w.ctx, v, workflow.ExpressEligible(def)); err != nil {
		w.t.Fatal(err)
	}
	cur, err := w.host.Store.GetWorkflow(w.ctx, wf.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	next := cur
	next.PublishedVersion = 1
	if err := w.host.Store.Commit(w.ctx, store.Tx{Workflows: []store.WorkflowWrite{{Value: next, ExpectVersion: cur.Version}}, Versions: []routing.WorkflowVersion{v}}); err != nil {
		w.t.Fatal(err)
	}
}

// operations are the store's requests by DynamoDB operation since reset.
func (w *world) operations() map[string]int64 {
	out := map[string]int64{}
	for op, st := range w.host.Store.Stats().Operations {
		out[op] = st.Requests
	}
	return out
}

// reset starts counting from here.
func (w *world) reset() {
	w.host.Store.ResetStats()
	w.db.reset()
	w.logs.mu.Lock()
	w.logs.bytes, w.logs.lines = 0, 0
	w.logs.mu.Unlock()
	w.ex.billed = billed{}
	w.ex.bytes, w.ex.lines = 0, 0
	// what the stream carried so far (the setup's outbox) is not this scenario's
	if batch, err := w.srv.StreamEvent(w.ctx, w.table); err == nil {
		for _, r := range batch.Records {
			w.relayed[r.EventID] = true
		}
	} else {
		w.t.Fatal(err)
	}
	w.seen = len(w.fake.Events())
	w.events = w.seen
	w.m = meter{}
	w.ex.requests, w.ex.rru, w.ex.wru, w.ex.events = 0, 0, 0, 0
	w.runner.mu.Lock()
	w.runner.names = nil
	w.runner.mu.Unlock()
}

// webhook delivers one signed generic message through the webhooks function.
func (w *world) webhook(messageID, from, text, locale string) {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(root(w.t), "events", "testdata", "apigw-webhook-generic.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	var req lambdaevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		w.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"channelId": "web", "messageId": messageID, "from": from, "name": "Contact " + from,
		"locale": locale, "text": text, "at": w.clk.Now().Format(time.RFC3339)})
	req.Body = string(body)
	req.Headers["content-length"] = fmt.Sprint(len(body))
	req.Headers["x-switchboard-signature"] = generic.Sign("sample-webhook-secret-web", body)
	w.m.Webhooks++
	res, err := w.host.HandleWebhook(w.ctx, req)
	if err != nil || res.StatusCode != 200 {
		w.t.Fatalf("webhook: %d %s %v", res.StatusCode, res.Body, err)
	}
	w.pump()
}

// pump delivers every event published so far to the dispatcher, as the
// EventBridge rule does (one dispatcher invocation per event), until no
// new event appears.
func (w *world) pump() {
	w.t.Helper()
	for {
		w.relay()
		evs := w.fake.Events()
		if w.seen >= len(evs) {
			return
		}
		e := evs[w.seen]
		w.seen++
		var at time.Time
		_ = json.Unmarshal(e.Time, &at)
		ev := eventbus.FromEventBridge(eventbus.Received{ID: fmt.Sprintf("eb-%d", w.seen), DetailType: e.DetailType, Source: e.Source, Time: at, Detail: json.RawMessage(e.Detail)})
		w.m.Dispatcher++
		if err := w.flows.HandleEvent(w.ctx, ev); err != nil {
			w.t.Fatalf("dispatch %s: %v", e.DetailType, err)
		}
	}
}

// relay hands every outbox record the table's stream carried since the
// last call to the relay function, one batch per record (the event source
// mapping's filters pass INSERTs of OUTBOX# items and of timeline entries
// carrying events; at one conversation at a time each arrives in a batch of
// its own), as AWS does.
func (w *world) relay() {
	w.t.Helper()
	batch, err := w.srv.StreamEvent(w.ctx, w.table)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range batch.Records {
		if w.relayed[r.EventID] {
			continue
		}
		w.relayed[r.EventID] = true
		_, carried := r.Change.NewImage["outbox"] // a timeline entry carrying its commit's events
		if r.EventName != "INSERT" || !(strings.HasPrefix(r.Change.NewImage["pk"].String(), "OUTBOX#") || carried) {
			continue
		}
		w.m.Relay++
		resp, err := w.host.HandleStream(w.ctx, lambdaevents.DynamoDBEvent{Records: []lambdaevents.DynamoDBEventRecord{r}})
		if err != nil || len(resp.BatchItemFailures) > 0 {
			w.t.Fatalf("relay: %+v %v", resp, err)
		}
	}
}

// advance moves the clock to the runner's next timer and runs what is due
// (Step Functions' own waiting: no Lambda).
func (w *world) advance() {
	w.t.Helper()
	next, ok := w.runner.ASL.NextWake()
	if !ok {
		w.t.Fatal("no execution is waiting")
	}
	w.clk.Set(next)
	if _, err := w.runner.ASL.RunDue(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	w.pump()
}

func (w *world) conversation(from string) routing.Conversation {
	w.t.Helper()
	defer w.excluding()() // the test's own reads are not counted
	ct, err := w.host.Store.ContactByExternalID(w.ctx, "web", from)
	if err != nil {
		w.t.Fatal(err)
	}
	page, err := w.host.Store.ListConversations(w.ctx, store.ConversationFilter{ContactID: ct.ID})
	if err != nil || len(page.Items) != 1 {
		w.t.Fatalf("conversations of %s: %d %v", from, len(page.Items), err)
	}
	return page.Items[0]
}

// finish collects the counts; the conversation's reads above are not counted.
func (w *world) finish(from string) meter {
	w.t.Helper()
	st, b := w.host.Store.Stats(), w.db.totals()
	m := w.m
	m.DynamoRequests = st.Requests - w.ex.requests
	if got := b.Requests - w.ex.billed.Requests; got != m.DynamoRequests {
		w.t.Errorf("the store counted %d DynamoDB requests, the client %d", m.DynamoRequests, got)
	}
	m.RRU, m.WRULocal = st.ReadCapacityUnits-w.ex.rru, st.WriteCapacityUnits-w.ex.wru
	m.WRU, m.IndexWRU = b.WRU-w.ex.billed.WRU, b.IndexWRU-w.ex.billed.IndexWRU
	m.ByKind = w.db.kinds()
	by, l := w.logs.get()
	m.LogBytes, m.LogLines = by-w.ex.bytes, l-w.ex.lines
	m.Events = len(w.fake.Events()) - w.events - w.ex.events
	w.runner.mu.Lock()
	names := append([]string(nil), w.runner.names...)
	express := w.runner.express
	w.runner.mu.Unlock()
	for _, n := range names {
		ex, err := w.runner.ASL.Describe(w.ctx, n)
		if err != nil {
			w.t.Fatal(err)
		}
		if ex.Status != asl.StatusSucceeded {
			w.t.Fatalf("execution %s: %s (%s: %s), states %v", n, ex.Status, ex.Error, ex.Cause, ex.StatesEntered())
		}
		m.Executions++
		m.Transitions += ex.Transitions()
		m.Express = express[n]
	}
	if from != "" {
		c := w.conversation(from)
		if c.Status == routing.ConvOpen {
			m.Assigned = c.TeamID + ":" + c.AssigneeID
		}
	}
	return m
}

type row struct {
	name, note string
	how        compile // "" for rows without a workflow
	m          meter
}

// Scenario names (rows of the report).
const (
	rowDefault     = "no workflow: default routing to the channel's team"
	rowDefaultCold = "the same, on cold function instances (configuration caches empty)"
	rowFurther     = "each further inbound message on an open conversation"
	rowLanguage    = "S5 route by language (`s5-route-by-language`)"
	rowChoice      = "S5 route by choice (`s5-route-by-choice`): question, answer, assign, tell"
	rowAnswered    = "S2 reassign unanswered (`s2-reassign-unanswered`): answered in time"
	rowReassign    = "S2 reassign unanswered: nobody answered, reassigned"
	rowShortcut    = "S1 escalation shortcut (`s1-escalation-shortcut`), per run"
	rowQueued      = "queued for capacity, drained when an agent comes online (any wait)"
)

// The oracle: Step Functions transitions of each happy path, written out
// (not computed by the compiler), per compile.
var wantTransitions = map[string]map[compile]int{
	rowLanguage: {perStep: 3, stretches: 0}, // by_language > by_language.choice > assign_spanish; now the dispatcher runs it
	rowChoice:   {perStep: 4, stretches: 2}, // ask_team > route > assign_sales > tell_sales; now ask_team > route
	rowAnswered: {perStep: 5, stretches: 2}, // assign_first > wait_for_reply > check_reply > check_reply.choice > Done; now wait_for_reply > check_reply
	rowReassign: {perStep: 6, stretches: 2}, // ... > reassign > tell_second_agent; now wait_for_reply > check_reply
	rowShortcut: {perStep: 3, stretches: 0}, // route > assign_billing > summary_billing; now the API runs it
}

// The DynamoDB requests pinned, written out from the reads and writes each
// function makes (issue 10's goal for default routing is 6):
//
//   - default routing on warm instances: the webhook reads the contact by its
//     external id (1) and commits the intake (1); the dispatcher, for
//     conversation.opened, reads the conversation (1), checks the team's
//     queue (1), reads the members and their loads (1, one BatchGetItem) and
//     commits the assignment (1); message.received needs no read (no question
//     was waiting; the workflows are cached). The channel, the team and the
//     published workflows come from the instance's configuration cache.
//   - with every cache empty when the conversation starts, the webhook also
//     lists the provider's channels (2: the index query, then the items),
//     and the dispatcher reads the published workflows (1; still cached for
//     message.received), the channel (1) and the team (1): 11. (On AWS a
//     second dispatcher instance, cold too, would list the workflows again.)
//   - a further message: the contact (2: the external id, then the contact),
//     its open conversation (1) and the commit (1); the dispatcher reads
//     nothing.
const (
	wantDefaultRoutingRequests     = 6
	wantDefaultRoutingRequestsCold = 11
	wantFurtherMessageRequests     = 4
)

func TestCostPerRoutedConversation(t *testing.T) {
	var rows []row
	add := func(name, note string, how compile, m meter) {
		rows = append(rows, row{name, note, how, m})
		d := price(m)
		t.Logf("%-48s %-18s %+v  $%.4f/1000", name, how, m, d.total()*1000)
		if want, ok := wantTransitions[name][how]; ok && m.Transitions != want {
			t.Errorf("%s (%s): %d transitions, want %d", name, how, m.Transitions, want)
		}
	}
	both := []compile{perStep, stretches}

	t.Run("default routing", func(t *testing.T) {
		w := newWorld(t, "", "")
		// the first conversation a function instance sees: its configuration
		// cache is empty (setup went through the api function)
		w.webhook("m-0", "c-0", "Hello", "en")
		cold := w.finish("c-0")
		t.Logf("default routing, cold instance, DynamoDB requests by operation: %v", w.operations())
		if cold.DynamoRequests != wantDefaultRoutingRequestsCold {
			t.Errorf("default routing, cold: %d DynamoDB requests, want %d", cold.DynamoRequests, wantDefaultRoutingRequestsCold)
		}

		w.reset()
		w.webhook("m-1", "c-1", "Hello, I need help", "en")
		m := w.finish("c-1")
		if m.Assigned != "general:ana" && m.Assigned != "general:bruno" {
			t.Fatalf("routed to %q", m.Assigned)
		}
		if m.Executions != 0 || m.Dispatcher != 2 {
			t.Errorf("%+v", m)
		}
		t.Logf("default routing, DynamoDB requests by operation: %v", w.operations())
		if m.DynamoRequests != wantDefaultRoutingRequests {
			t.Errorf("default routing: %d DynamoDB requests, want %d", m.DynamoRequests, wantDefaultRoutingRequests)
		}
		add(rowDefault, "", "", m)
		add(rowDefaultCold, "", "", cold)

		w.reset()
		w.webhook("m-2", "c-1", "Are you there?", "en")
		further := w.finish("c-1")
		t.Logf("further message, DynamoDB requests by operation: %v", w.operations())
		if further.DynamoRequests != wantFurtherMessageRequests {
			t.Errorf("further message: %d DynamoDB requests, want %d", further.DynamoRequests, wantFurtherMessageRequests)
		}
		add(rowFurther, "", "", further)
		for _, m := range []meter{m, further} {
			sum := 0.0
			for _, v := range m.ByKind {
				sum += v
			}
			if sum != m.WRU+m.IndexWRU {
				t.Errorf("write units by item add up to %g, not %g: %v", sum, m.WRU+m.IndexWRU, m.ByKind)
			}
		}
	})

	for _, how := range both {
		t.Run("route by language "+string(how), func(t *testing.T) {
			w := newWorld(t, "s5-route-by-language.yaml", how)
			w.webhook("m-1", "c-1", "Hola, necesito ayuda", "es")
			m := w.finish("c-1")
			if m.Assigned != "spanish:diego" || (how == perStep) != (m.Executions == 1 && m.Express) {
				t.Fatalf("%+v", m)
			}
			add(rowLanguage, "", how, m)
		})

		t.Run("route by choice "+string(how), func(t *testing.T) {
			w := newWorld(t, "s5-route-by-choice.yaml", how)
			w.webhook("m-1", "c-1", "Hi", "en")
			if c := w.conversation("c-1"); c.Question == nil {
				t.Fatal("no question asked")
			}
			w.webhook("m-2", "c-1", "Sales", "en") // the answer
			m := w.finish("c-1")
			if m.Assigned != "sales:ana" || m.Executions != 1 || m.Express {
				t.Fatalf("%+v", m)
			}
			add(rowChoice, "2 inbound messages", how, m)
		})

		t.Run("reassign unanswered: answered in time "+string(how), func(t *testing.T) {
			w := newWorld(t, "s2-reassign-unanswered.yaml", how)
			w.webhook("m-1", "c-1", "Hello", "en")
			conv := w.conversation("c-1")
			// Ana answers within 15 minutes: agent work, not routing, so not counted
			w.exclude(func() {
				if _, err := w.host.Engine.SendMessage(w.ctx, conv.ID, engine.Outbound{Text: "Hi, how can I help?"}, engine.Person("ana", routing.RoleAgent)); err != nil {
					t.Fatal(err)
				}
			})
			w.advance() // the 15-minute wait ends
			m := w.finish("c-1")
			if m.Assigned != "general:ana" || m.Executions != 1 || m.Express {
				t.Fatalf("%+v", m)
			}
			add(rowAnswered, "15 min wait", how, m)
		})

		t.Run("reassign unanswered: reassigned "+string(how), func(t *testing.T) {
			w := newWorld(t, "s2-reassign-unanswered.yaml", how)
			w.webhook("m-1", "c-1", "Hello", "en")
			w.advance()
			m := w.finish("c-1")
			if m.Assigned != "support:bruno" || m.Executions != 1 {
				t.Fatalf("%+v", m)
			}
			add(rowReassign, "15 min wait", how, m)
		})

		t.Run("escalation shortcut "+string(how), func(t *testing.T) {
			w := newWorld(t, "s1-escalation-shortcut.yaml", how)
			w.webhook("m-1", "c-1", "I was charged twice", "en")
			conv := w.conversation("c-1")
			w.reset() // the shortcut run on top of the routed conversation
			w.m.API++ // POST /v1/conversations/{id}/shortcuts/{workflowId}
			if _, err := w.flows.RunShortcut(w.ctx, conv.ID, "escalate-billing-or-tech", map[string]string{"team": "billing", "summary": "double charge"},
				engine.Person(conv.AssigneeID, routing.RoleAgent), "req-1"); err != nil {
				t.Fatal(err)
			}
			w.pump()
			m := w.finish("c-1")
			if m.Assigned != "billing:carla" || (how == perStep) != (m.Executions == 1 && m.Express) {
				t.Fatalf("%+v", m)
			}
			add(rowShortcut, "on top of the routing", how, m)
		})
	}

	naive := map[time.Duration]meter{}
	t.Run("waiting for capacity", func(t *testing.T) {
		w := newWorld(t, "", "")
		admin := engine.Person("seed", routing.RoleAdmin)
		for _, id := range []string{"ana", "bruno"} {
			if _, err := w.host.Engine.SetStatus(w.ctx, id, routing.StatusOffline, admin); err != nil {
				t.Fatal(err)
			}
		}
		w.reset()
		w.webhook("m-1", "c-1", "Anyone there?", "en")
		if c := w.conversation("c-1"); c.Status != routing.ConvPending {
			t.Fatalf("not queued: %+v", c)
		}
		w.clk.Advance(5 * time.Minute)
		w.m.API++ // PUT /v1/agents/ana/status: Ana comes online, the queue drains
		if _, err := w.host.Engine.SetStatus(w.ctx, "ana", routing.StatusOnline, engine.Person("ana", routing.RoleAgent)); err != nil {
			t.Fatal(err)
		}
		w.pump()
		m := w.finish("c-1")
		if m.Assigned != "general:ana" {
			t.Fatalf("%+v", m)
		}
		add(rowQueued, "includes the agent's status change", "", m)
		for _, wait := range []time.Duration{30 * time.Second, 5 * time.Minute, 30 * time.Minute} {
			naive[wait] = pollingMachine(t, wait)
		}
	})
	// default routing cold and warm, a further message, each workflow row
	// with both compiles, and the queue
	if t.Failed() || len(rows) != 3+2*len(wantTransitions)+1 {
		return // a failure, or a subset of the scenarios (-run): no report
	}

	var b strings.Builder
	writeTable(&b, rows, naive)
	t.Logf("\n%s", b.String())
	path := filepath.Join(root(t), "docs", "benchmarks.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- cost-table:begin (generated by tests/cost; do not edit) -->\n", "<!-- cost-table:end -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no generated block", path)
	}
	if *update {
		out := append(append(append([]byte{}, doc[:i+len(begin)]...), b.String()...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if published := string(doc[i+len(begin) : j]); published != b.String() {
		t.Errorf("docs/benchmarks.md publishes other numbers than this run measured: rerun with -update\n%s", lineDiff(published, b.String()))
	}

	prose := string(bytes.Join(bytes.Fields(doc), []byte(" "))) // the doc's words, one space apart
	if want := fmt.Sprintf("than the pinned one (%d; cold %d; a further message %d,", wantDefaultRoutingRequests, wantDefaultRoutingRequestsCold, wantFurtherMessageRequests); !strings.Contains(prose, want) {
		t.Errorf("docs/benchmarks.md does not say %q", want)
	}

	if want := fmt.Sprintf("(`CONFIG_CACHE_SECONDS`, %d s by default;", deployenv.DefaultConfigCacheSeconds); !strings.Contains(prose, want) {
		t.Errorf("docs/benchmarks.md does not say %q", want)
	}

	// What the design promises, checked on the measured counts.
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.name+"|"+string(r.how)] = r
	}
	for _, r := range rows {
		d := price(r.m)
		if r.m.Express && d.SFN >= d.SFNStandard {
			t.Errorf("%s: Express ($%g) is not cheaper than Standard ($%g)", r.name, d.SFN, d.SFNStandard)
		}
	}
	queued := price(byName[rowQueued+"|"].m).total()
	for wait, m := range naive {
		if p := price(m).total(); p <= queued && wait >= 30*time.Second {
			t.Errorf("polling for %v ($%g) is not dearer than the queue ($%g)", wait, p, queued)
		}
	}
	for _, name := range []string{rowLanguage, rowChoice, rowAnswered, rowReassign, rowShortcut} {
		if after, before := price(byName[name+"|"+string(stretches)].m).total(), price(byName[name+"|"+string(perStep)].m).total(); after >= before {
			t.Errorf("%s: $%g per 1,000 with stretches, not below $%g per step", name, after*1000, before*1000)
		}
	}
}

// itemKinds describes the items of docs/dynamodb.md the report breaks the
// write units down by, in the order written.
var itemKinds = []struct{ kind, what string }{
	{"CLAIM", "the message's idempotency claim (a redelivery hits it)"},
	{"CONTACT", "the contact"},
	{"CONTACTKEY", "the contact's (channel, external id) reservation"},
	{"CONV", "the conversation (with its index entries: queue, agent, contact, channel)"},
	{"CONV/EV", "timeline entries (one of a commit's entries carries its bus events when they fit in its last started KB)"},
	{"OUTBOX", "an outbox item: a commit's bus events that no timeline entry of it could carry"},
	{"AGENT/LOAD", "the agent's open count (the capacity condition)"},
	{"NOTIFY/NOTE", "the agent's notification"},
}

// writeKinds writes where the write units of default routing and of a
// further message go, by item.
func writeKinds(b *strings.Builder, rows []row) {
	var def, further meter
	for _, r := range rows {
		switch r.name {
		case rowDefault:
			def = r.m
		case rowFurther:
			further = r.m
		}
	}
	fmt.Fprintf(b, "\nWhere the write units go (as AWS bills them, items and their index entries; every write below is in a transaction, at 2 WRU per KB):\n\n")
	fmt.Fprintf(b, "| item | what it is | default routing | each further message |\n|---|---|---|---|\n")
	seen := map[string]bool{}
	for _, k := range itemKinds {
		seen[k.kind] = true
		fmt.Fprintf(b, "| `%s` | %s | %g | %g |\n", k.kind, k.what, def.ByKind[k.kind], further.ByKind[k.kind])
	}
	var other []string
	for _, m := range []meter{def, further} {
		for k := range m.ByKind {
			if !seen[k] {
				seen[k] = true
				other = append(other, k)
			}
		}
	}
	sort.Strings(other)
	for _, k := range other {
		fmt.Fprintf(b, "| `%s` | | %g | %g |\n", k, def.ByKind[k], further.ByKind[k])
	}
	fmt.Fprintf(b, "| **total** | | **%g** | **%g** |\n", def.WRU+def.IndexWRU, further.WRU+further.IndexWRU)
}

// writeGoals writes the before/after summary and issue 10's goals against
// the measured figures.
func writeGoals(b *strings.Builder, rows []row) {
	find := func(name string, how compile) meter {
		for _, r := range rows {
			if r.name == name && r.how == how {
				return r.m
			}
		}
		return meter{}
	}
	fmt.Fprintf(b, "\nBefore and after, same run ($ per 1,000, all services):\n\n")
	fmt.Fprintf(b, "| workflow run | transitions before → now | Step Functions $ before → now | total $ before → now |\n|---|---|---|---|\n")
	for _, name := range []string{rowReassign, rowAnswered, rowChoice, rowLanguage, rowShortcut} {
		x, y := find(name, perStep), find(name, stretches)
		fmt.Fprintf(b, "| %s | %d → %d | %s → %s | %s → **%s** |\n", name, x.Transitions, y.Transitions,
			usd(price(x).SFN*1000), usd(price(y).SFN*1000), usd(price(x).total()*1000), usd(price(y).total()*1000))
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	s2, def, further := find(rowReassign, stretches), find(rowDefault, ""), find(rowFurther, "")
	s2d, defd, fd := price(s2), price(def), price(further)
	fmt.Fprintf(b, "\nIssue 10's goals against this run:\n\n| goal | measured | |\n|---|---|---|\n")
	fmt.Fprintf(b, "| S2 reassigned ≤ $0.06 per 1,000 | $%s (Step Functions %s, DynamoDB %s, the rest %s) | %s |\n", usd(s2d.total()*1000),
		usd(s2d.SFN*1000), usd(s2d.Dynamo*1000), usd((s2d.total()-s2d.SFN-s2d.Dynamo)*1000), verdict(s2d.total() <= 0.06/1000))
	fmt.Fprintf(b, "| default routing ≤ 6 DynamoDB requests | %d | %s |\n", def.DynamoRequests, verdict(def.DynamoRequests <= 6))
	fmt.Fprintf(b, "| default routing ≤ 12 WRU (as AWS bills) | %g | %s |\n", def.WRU+def.IndexWRU, verdict(def.WRU+def.IndexWRU <= 12))
	fmt.Fprintf(b, "| default routing ≤ $0.012 per 1,000 | $%s | %s |\n", usd(defd.total()*1000), verdict(defd.total() <= 0.012/1000))
	fmt.Fprintf(b, "| each further inbound message ≤ $0.005 per 1,000 | $%s (%d requests, %g WRU) | %s |\n", usd(fd.total()*1000),
		further.DynamoRequests, further.WRU+further.IndexWRU, verdict(fd.total() <= 0.005/1000))
}

// lineDiff lists the lines of b that differ from a's.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for k := 0; k < max(len(al), len(bl)); k++ {
		var x, y string
		if k < len(al) {
			x = al[k]
		}
		if k < len(bl) {
			y = bl[k]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}

// excluding starts leaving what follows out of the counts (DynamoDB,
// logs); the function it returns stops.
func (w *world) excluding() func() {
	st0, b0 := w.host.Store.Stats(), w.db.totals()
	by0, l0 := w.logs.get()
	return func() {
		st1, b1 := w.host.Store.Stats(), w.db.totals()
		by1, l1 := w.logs.get()
		w.ex.requests += st1.Requests - st0.Requests
		w.ex.rru += st1.ReadCapacityUnits - st0.ReadCapacityUnits
		w.ex.wru += st1.WriteCapacityUnits - st0.WriteCapacityUnits
		w.ex.billed.Requests += b1.Requests - b0.Requests
		w.ex.billed.WRU += b1.WRU - b0.WRU
		w.ex.billed.IndexWRU += b1.IndexWRU - b0.IndexWRU
		w.ex.bytes += by1 - by0
		w.ex.lines += l1 - l0
	}
}

// exclude runs fn (work that is not routing, such as an agent's reply) and
// leaves what it costs out of the counts.
func (w *world) exclude(fn func()) {
	ev0, d0, t0 := len(w.fake.Events()), w.m.Dispatcher, w.m.Task
	done := w.excluding()
	fn()
	w.pump()
	done()
	w.ex.events += len(w.fake.Events()) - ev0
	w.m.Dispatcher, w.m.Task = d0, t0
}

// pollingASL is the naive design: a Standard machine that checks for a free
// agent every 10 seconds, then assigns.
const pollingASL = `{
  "StartAt": "CheckCapacity",
  "States": {
    "CheckCapacity": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "check", "state.$": "$"}},
      "ResultSelector": {"free.$": "$.Payload.free"}, "ResultPath": "$.capacity", "Next": "Free?"},
    "Free?": {"Type": "Choice", "Choices": [{"Variable": "$.capacity.free", "BooleanEquals": true, "Next": "Assign"}], "Default": "Wait10s"},
    "Wait10s": {"Type": "Wait", "Seconds": 10, "Next": "CheckCapacity"},
    "Assign": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "${TaskFunctionArn}", "Payload": {"action": "assign", "state.$": "$"}}, "End": true}
  }
}`

// pollingMachine runs the polling machine on the embedded runner for a
// conversation that waits `wait` for capacity, and counts what only the
// polling adds to the default routing: the transitions, one task Lambda per
// check and the assign, and (an assumption) one 1-RRU read per check.
func pollingMachine(t *testing.T, wait time.Duration) meter {
	clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	start := clk.Now()
	var m meter
	inv := asl.InvokerFunc(func(ctx context.Context, in asl.Invocation) (json.RawMessage, error) {
		var p struct{ Payload struct{ Action string } }
		_ = json.Unmarshal(in.Parameters, &p)
		m.Task++
		if p.Payload.Action == "check" {
			m.RRU++
			m.DynamoRequests++
			return json.Marshal(map[string]bool{"free": !clk.Now().Before(start.Add(wait))})
		}
		m.WRU += 2 // the assignment's own write, as small as it gets
		m.DynamoRequests++
		return json.RawMessage(`{}`), nil
	})
	r := asl.NewRunner(asl.NewMemoryRunStore(), clk, inv, &ids.Sequence{})
	ctx := context.Background()
	ex, err := r.Start(ctx, asl.StartInput{Name: "poll", Definition: []byte(pollingASL), Input: json.RawMessage(`{"conversationId":"c"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for guard := 0; ex.Status == asl.StatusRunning && guard < 100000; guard++ {
		next, ok := r.NextWake()
		if !ok {
			break
		}
		clk.Set(next)
		if _, err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if ex, err = r.Describe(ctx, "poll"); err != nil {
			t.Fatal(err)
		}
	}
	if ex.Status != asl.StatusSucceeded {
		t.Fatalf("polling machine: %s", ex.Status)
	}
	m.Executions, m.Transitions = 1, ex.Transitions()
	m.Assigned = fmt.Sprintf("history:%d", len(ex.History))
	return m
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 0.0001:
		return fmt.Sprintf("%.6f", v)
	case v < 0.01:
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func (r row) label() string {
	if r.how == "" {
		return r.name
	}
	return r.name + ", " + string(r.how)
}

func writeTable(b *strings.Builder, rows []row, naive map[time.Duration]meter) {
	fmt.Fprintf(b, "Prices (us-east-1, on-demand, beyond free tiers; checked %s against the figures of the AWS pricing pages as quoted by\n", prices.Date)
	fmt.Fprintf(b, "pricing summaries of March–June 2026; CloudWatch Logs: AWS's list price since 2014, not re-checked on 2026-12-06):\n\n")
	fmt.Fprintf(b, "| service | price |\n|---|---|\n")
	fmt.Fprintf(b, "| Step Functions Standard | $%g per 1,000 state transitions |\n", prices.SFNTransition*1000)
	fmt.Fprintf(b, "| Step Functions Express | $%.2f per million executions + $%.8f per GB-second (billed per 100 ms, 64 MB chunks) |\n", prices.SFNExpressRequest*1e6, prices.SFNExpressGBSecond)
	fmt.Fprintf(b, "| Lambda (arm64) | $%.2f per million requests + $%.10f per GB-second |\n", prices.LambdaRequest*1e6, prices.LambdaGBSecondARM)
	fmt.Fprintf(b, "| EventBridge custom events | $%.2f per million (per 64 KB chunk) |\n", prices.EventBridgeEvent*1e6)
	fmt.Fprintf(b, "| DynamoDB on-demand | $%g per million write request units, $%g per million read request units (since November 2024) |\n", prices.DynamoWRU*1e6, prices.DynamoRRU*1e6)
	fmt.Fprintf(b, "| API Gateway HTTP API | $%.2f per million requests (first 300 million a month) |\n", prices.APIGatewayHTTPRequest*1e6)
	fmt.Fprintf(b, "| CloudWatch Logs | $%.2f per GB ingested (standard log class) |\n\n", prices.LogsIngestedGB)
	fmt.Fprintf(b, "Counts per routed conversation (measured; each workflow with the compile before stretches and with the compile now, in the same run):\n\n")
	fmt.Fprintf(b, "| scenario | machine | Lambda invocations (webhooks + relay + dispatcher + task + api) | EventBridge events | Step Functions transitions | DynamoDB requests | RRU | WRU as AWS bills (items + index entries) | WRU DynamoDB Local reports | log lines (bytes) |\n")
	fmt.Fprintf(b, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		m := r.m
		machine := "none"
		if m.Executions > 0 {
			machine = "Standard"
			if m.Express {
				machine = "Express"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %d (%d + %d + %d + %d + %d) | %d | %d | %d | %g | %g (%g + %g) | %g | %d (%d) |\n", r.label(), machine, m.lambda(), m.Webhooks, m.Relay, m.Dispatcher, m.Task, m.API,
			m.Events, m.Transitions, m.DynamoRequests, m.RRU, m.WRU+m.IndexWRU, m.WRU, m.IndexWRU, m.WRULocal, m.LogLines, m.LogBytes)
	}
	fmt.Fprintf(b, "\nDollars per 1,000 routed conversations (prices of %s, us-east-1):\n\n", prices.Date)
	fmt.Fprintf(b, "| scenario | Step Functions | (as Standard) | Lambda | EventBridge | DynamoDB | CloudWatch Logs | API Gateway | **total** | Step Functions share |\n")
	fmt.Fprintf(b, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		d := price(r.m)
		share := 0.0
		if d.total() > 0 {
			share = 100 * d.SFN / d.total()
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %.0f%% |\n", r.label(), usd(d.SFN*1000), usd(d.SFNStandard*1000), usd(d.Lambda*1000),
			usd(d.EventBridge*1000), usd(d.Dynamo*1000), usd(d.Logs*1000), usd(d.APIGateway*1000), usd(d.total()*1000), share)
	}
	writeGoals(b, rows)
	writeKinds(b, rows)
	var base meter
	for _, r := range rows {
		if r.name == rowDefault {
			base = r.m
		}
	}
	queued := rows[len(rows)-1]
	fmt.Fprintf(b, "\nWaiting for capacity: the queue (measured above, %s per 1,000 whatever the wait) against the naive design, a Standard machine\n", usd(price(queued.m).total()*1000))
	fmt.Fprintf(b, "polling every 10 s (measured on the embedded runner; on top of the same intake and default routing as the first row):\n\n")
	fmt.Fprintf(b, "| wait | transitions | history events | task Lambdas | **$ per 1,000** |\n|---|---|---|---|---|\n")
	waits := []time.Duration{30 * time.Second, 5 * time.Minute, 30 * time.Minute}
	hist := map[time.Duration]int{}
	for _, wait := range waits {
		m, ok := naive[wait]
		if !ok {
			continue
		}
		var h int
		fmt.Sscanf(m.Assigned, "history:%d", &h)
		hist[wait] = h
		total := m
		total.Webhooks, total.Dispatcher, total.Events = base.Webhooks, base.Dispatcher, base.Events
		total.DynamoRequests += base.DynamoRequests
		total.RRU += base.RRU
		total.WRU += base.WRU
		total.IndexWRU += base.IndexWRU
		total.LogBytes, total.LogLines = base.LogBytes, base.LogLines
		fmt.Fprintf(b, "| %v | %d | %d | %d | **%s** |\n", wait, m.Transitions, h, m.Task, usd(price(total).total()*1000))
	}
	if a, z := naive[5*time.Minute], naive[30*time.Minute]; z.Transitions > a.Transitions {
		polls := 25 * time.Minute / (10 * time.Second)
		perPoll := float64(hist[30*time.Minute]-hist[5*time.Minute]) / float64(polls)
		fmt.Fprintf(b, "\nEach 10-second poll adds %.0f state transitions and %.0f history events, so a polling execution reaches Step Functions'\n",
			float64(z.Transitions-a.Transitions)/float64(polls), perPoll)
		fmt.Fprintf(b, "25,000-event history limit after %.1f hours of waiting.\n", 25000/perPoll*10/3600)
	}
	fmt.Fprintf(b, "\nAssumptions (not counted): each Lambda invocation bills %.0f ms at %.0f MB on arm64; an Express execution lasts %.0f ms per task, billed\n", lambdaSeconds*1000, lambdaMemoryGB*1024, expressTaskSeconds*1000)
	fmt.Fprintf(b, "per 100 ms at 64 MB; the naive machine's capacity check reads 1 RRU and its assignment writes 2 WRU. WRU as AWS bills them are computed from\n")
	fmt.Fprintf(b, "every write's items before and after (2 WRU per started KB per item in a transaction, 1 outside; the larger image) plus every global\n")
	fmt.Fprintf(b, "secondary index entry added, removed (1) or moved (2), read from the table's own index definitions; RRU are DynamoDB Local's.\n")
	fmt.Fprintf(b, "CloudWatch Logs: the functions' JSON lines at INFO (the shipped level; the system log level WARN writes no START/END/REPORT),\n")
	fmt.Fprintf(b, "%d bytes of overhead per line, and a %d-byte API Gateway access log line per HTTP request, at $%.2f per GB ingested; the\n", logEventOverhead, accessLogBytes, prices.LogsIngestedGB)
	fmt.Fprintf(b, "workflow machines log at ERROR, nothing on a happy path.\n")
}
