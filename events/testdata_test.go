package events_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/eventbus"
	"github.com/switchboard-oss/switchboard/shared/providers/generic"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// SampleWebhookSecret signs testdata/apigw-webhook-generic.json (channel "web").
const SampleWebhookSecret = "sample-webhook-secret-web"

// The samples under testdata are the payloads each Lambda function receives
// (usable with `sam local invoke -e`). Each one must decode into the Go type
// its function takes without losing a field, and carry a valid body for it.

func samples(t *testing.T, prefix string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", prefix+"*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no testdata/%s*.json", prefix)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// subset reports the first value of want (decoded JSON) that got lacks or
// has differently.
func subset(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %T, want an object", path, got)
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				if w[k] == nil {
					continue // null and absent are the same to Go's decoder
				}
				return fmt.Sprintf("%s.%s is lost", path, k)
			}
			if d := subset(path+"."+k, w[k], gv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		for i := range w {
			if d := subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s: %v, want %v", path, got, want)
		}
		return ""
	}
}

// roundTrip decodes raw into dst strictly, encodes it again and checks that
// nothing of raw was lost.
func roundTrip(t *testing.T, name string, raw []byte, dst any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	again, err := json.Marshal(dst)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if d := subset("$", want, got); d != "" {
		t.Errorf("%s does not round-trip through %T: %s", name, dst, d)
	}
}

func TestAPIGatewaySamples(t *testing.T) {
	for name, raw := range samples(t, "apigw-") {
		t.Run(name, func(t *testing.T) {
			var req lambdaevents.APIGatewayV2HTTPRequest
			roundTrip(t, name, raw, &req)
			if req.Version != "2.0" || req.RawPath == "" || req.RequestContext.HTTP.Method == "" ||
				req.RequestContext.HTTP.Path != req.RawPath || req.Headers["host"] != req.RequestContext.DomainName {
				t.Errorf("not a payload 2.0 request: %+v", req)
			}
			for k := range req.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q: API Gateway sends lowercase names", k)
				}
			}
			method, _, _ := strings.Cut(req.RouteKey, " ")
			if method != "ANY" && method != req.RequestContext.HTTP.Method {
				t.Errorf("route key %q for method %s", req.RouteKey, req.RequestContext.HTTP.Method)
			}
			if req.IsBase64Encoded {
				if _, err := base64.StdEncoding.DecodeString(req.Body); err != nil {
					t.Errorf("body is not base64: %v", err)
				}
			}
			webhook := strings.HasPrefix(req.RawPath, "/v1/webhooks/")
			public := webhook || req.RawPath == "/v1/health"
			hasClaims := req.RequestContext.Authorizer != nil && req.RequestContext.Authorizer.JWT != nil
			if public == hasClaims {
				t.Errorf("%s: claims %v; only routes behind the JWT authorizer carry them", req.RawPath, hasClaims)
			}
			if hasClaims && req.RequestContext.Authorizer.JWT.Claims["sub"] == "" {
				t.Error("claims without sub")
			}
		})
	}
}

func TestGenericWebhookSampleIsSigned(t *testing.T) {
	var req lambdaevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(samples(t, "apigw-webhook-generic")["apigw-webhook-generic.json"], &req); err != nil {
		t.Fatal(err)
	}
	if got, want := req.Headers[strings.ToLower(generic.SignatureHeader)], generic.Sign(SampleWebhookSecret, []byte(req.Body)); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	var m generic.Message
	dec := json.NewDecoder(strings.NewReader(req.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.MessageID == "" || m.From == "" || m.ChannelID == "" {
		t.Errorf("body %+v: %v", m, err)
	}
}

// detailTypes maps each detail-type to its Go detail struct; conversation.routed
// has none in the contract yet, so its sample is checked as a JSON object.
var detailTypes = map[string]any{
	events.ConversationOpened:  &events.ConversationOpenedDetail{},
	events.ConversationClosed:  &events.ConversationClosedDetail{},
	events.ConversationRouted:  &map[string]any{},
	events.MessageReceived:     &events.MessageReceivedDetail{},
	events.ContactFieldChanged: &events.ContactFieldChangedDetail{},
	events.ShortcutInvoked:     &events.ShortcutInvokedDetail{},
	events.CapacityReleased:    &events.CapacityReleasedDetail{},
	events.HandoffRequested:    &events.HandoffDetail{},
}

func TestEventBridgeSamples(t *testing.T) {
	seen := map[string]bool{}
	for name, raw := range samples(t, "eventbridge-") {
		t.Run(name, func(t *testing.T) {
			var cw lambdaevents.CloudWatchEvent
			roundTrip(t, name, raw, &cw)
			if cw.Source != events.Source || cw.Version != "0" || cw.ID == "" || cw.Time.IsZero() {
				t.Errorf("envelope %+v", cw)
			}
			ev := eventbus.FromEventBridge(eventbus.Received{ID: cw.ID, DetailType: cw.DetailType, Source: cw.Source, Time: cw.Time, Detail: cw.Detail})
			if ev.ID == cw.ID || !strings.HasPrefix(ev.ID, "ev_") {
				t.Errorf("event id %q: the Switchboard id must come from the detail", ev.ID)
			}
			proto, ok := detailTypes[ev.DetailType]
			if !ok {
				t.Fatalf("unknown detail-type %q", ev.DetailType)
			}
			seen[ev.DetailType] = true
			dst := reflect.New(reflect.TypeOf(proto).Elem()).Interface()
			roundTrip(t, name+" detail", ev.Detail, dst)
			// and back: publishing the decoded detail gives the same event
			re, err := events.New(ev.ID, ev.DetailType, ev.Time, reflect.ValueOf(dst).Elem().Interface())
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(re.Detail, &a)
			_ = json.Unmarshal(ev.Detail, &b)
			if d := subset("$", b, a); d != "" {
				t.Errorf("re-encoded detail differs: %s", d)
			}
		})
	}
	for typ := range detailTypes {
		if !seen[typ] {
			t.Errorf("no sample for detail-type %s", typ)
		}
	}
}

func TestScheduledSample(t *testing.T) {
	var cw lambdaevents.CloudWatchEvent
	roundTrip(t, "scheduled-sweeper.json", samples(t, "scheduled-")["scheduled-sweeper.json"], &cw)
	if cw.DetailType != "Scheduled Event" || cw.Source != "aws.events" || len(cw.Resources) != 1 || string(cw.Detail) != "{}" {
		t.Errorf("scheduled event %+v", cw)
	}
}

func TestStepFunctionsTaskSamples(t *testing.T) {
	params := map[string]any{
		workflow.ActionSnapshot:      &struct{}{},
		workflow.ActionAssign:        &workflow.AssignParams{},
		workflow.ActionComment:       &workflow.CommentParams{},
		workflow.ActionSendMessage:   &workflow.SendMessageParams{},
		workflow.ActionAsk:           &workflow.AskParams{},
		workflow.ActionUpdateContact: &workflow.UpdateContactParams{},
		workflow.ActionEscalate:      &workflow.EscalateParams{},
		workflow.ActionClose:         &struct{}{},
		workflow.ActionHandoff:       &workflow.HandoffParams{},
		workflow.ActionRecordFailure: &struct{}{},
	}
	seen := map[string]bool{}
	for name, raw := range samples(t, "sfn-task-") {
		t.Run(name, func(t *testing.T) {
			var in workflow.TaskInput
			roundTrip(t, name, raw, &in)
			p, ok := params[in.Action]
			if !ok {
				t.Fatalf("unknown action %q", in.Action)
			}
			seen[in.Action] = true
			if want := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(name, "sfn-task-"), ".json"), "-", "_"); want != in.Action {
				t.Errorf("file %s holds action %s", name, in.Action)
			}
			dst := reflect.New(reflect.TypeOf(p).Elem()).Interface()
			roundTrip(t, name+" params", in.Params, dst)
			var st struct { // workflow.ExecutionInput and the error a Catch adds
				ConversationID string                `json:"conversationId"`
				WorkflowID     string                `json:"workflowId"`
				Version        int                   `json:"version"`
				Trigger        workflow.TriggerEvent `json:"trigger"`
				Form           map[string]string     `json:"form"`
				Vars           map[string]string     `json:"vars"`
				Error          *workflow.Failure     `json:"error,omitempty"`
			}
			roundTrip(t, name+" state", in.State, &st)
			if st.ConversationID == "" || st.WorkflowID == "" || st.Version < 1 {
				t.Errorf("state %+v", st)
			}
			if (in.Action == workflow.ActionAsk) != (in.TaskToken != "") {
				t.Errorf("TaskToken %q for %s (only ask waits for a token)", in.TaskToken, in.Action)
			}
			if (in.Action == workflow.ActionRecordFailure) != (st.Error != nil) {
				t.Errorf("error %+v for %s (only record_failure runs after a Catch)", st.Error, in.Action)
			}
		})
	}
	for _, a := range workflow.ActionNames {
		if !seen[a] {
			t.Errorf("no sample for action %s", a)
		}
	}
}

// Every file under testdata is covered by one of the tests above.
func TestEverySampleIsChecked(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, f := range files {
		base := filepath.Base(f)
		switch {
		case base == "README.md":
		case strings.HasSuffix(base, ".json") && (strings.HasPrefix(base, "apigw-") || strings.HasPrefix(base, "eventbridge-") ||
			strings.HasPrefix(base, "sfn-task-") || strings.HasPrefix(base, "scheduled-")):
		default:
			t.Errorf("testdata/%s is not checked by any test", base)
		}
	}
}
