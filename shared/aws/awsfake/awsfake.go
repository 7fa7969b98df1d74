// Package awsfake is a recording stand-in for the AWS JSON-protocol APIs
// Switchboard calls besides DynamoDB: EventBridge (PutEvents), Step
// Functions (state machines, aliases, executions, task tokens) and Secrets
// Manager (GetSecretValue). It is for tests: point an SDK client at
// Server.URL (BaseEndpoint, or AWS_ENDPOINT_URL_EVENTBRIDGE /
// AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL_SECRETS_MANAGER for a process)
// and read back what was called.
//
// It speaks the wire format the SDKs use (POST /, X-Amz-Target
// "<service prefix>.<Operation>", JSON bodies, errors as {"__type": ...})
// and keeps just enough state for the answers to be consistent: state
// machines with versions and aliases, executions by name (same name and
// input answer the same execution, another input ExecutionAlreadyExists),
// secrets by name. It does not check signatures.
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Call is one recorded API call.
type Call struct {
	Service   string // "events", "sfn", "secretsmanager"
	Operation string // e.g. "PutEvents", "StartExecution"
	Body      json.RawMessage
	// Failed is set when the call was answered with an injected error.
	Failed bool
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	*httptest.Server

	Region  string
	Account string

	mu       sync.Mutex
	calls    []Call
	secrets  map[string]string
	machines map[string]*machine // by ARN
	aliases  map[string]string   // alias ARN -> version ARN
	execs    map[string]execution
	fail     map[string][]string // operation -> queued error types
	seq      int
}

type machine struct {
	Name, Definition, RoleArn, Type string
	Revision                        int
	Published                       map[int]string
	Versions                        int
}

type execution struct {
	ARN, Input string
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{Region: "us-east-1", Account: "123456789012", secrets: map[string]string{},
		machines: map[string]*machine{}, aliases: map[string]string{}, execs: map[string]execution{}, fail: map[string][]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// PutSecret stores a secret string under name.
func (s *Server) PutSecret(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = value
}

// FailNext makes the next call of operation answer the AWS error errType
// (e.g. "ThrottlingException") with HTTP 400.
func (s *Server) FailNext(operation, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[operation] = append(s.fail[operation], errType)
}

// Calls returns the calls recorded so far, optionally only those of one
// operation.
func (s *Server) Calls(operation ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(operation) == 0 || c.Operation == operation[0] {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls (state stays).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// PutEventsEntry is one entry of a recorded PutEvents call.
type PutEventsEntry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Time         json.RawMessage
}

// Events returns every PutEvents entry accepted, in order.
func (s *Server) Events() []PutEventsEntry {
	var out []PutEventsEntry
	for _, c := range s.Calls("PutEvents") {
		if c.Failed {
			continue
		}
		var in struct{ Entries []PutEventsEntry }
		if json.Unmarshal(c.Body, &in) == nil {
			out = append(out, in.Entries...)
		}
	}
	return out
}

// Executions returns the executions started, by name, with their input.
func (s *Server) Executions() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, e := range s.execs {
		out[k[strings.LastIndexByte(k, '/')+1:]] = e.Input
	}
	return out
}

// Machine returns the definition and type of a state machine by name.
func (s *Server) Machine(name string) (definition, typ string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.machines {
		if m.Name == name {
			return m.Definition, m.Type, true
		}
	}
	return "", "", false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "POST with X-Amz-Target expected")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if !json.Valid(body) {
		writeErr(w, http.StatusBadRequest, "SerializationException", "body is not JSON")
		return
	}
	service := map[string]string{"AWSEvents": "events", "AWSStepFunctions": "sfn", "secretsmanager": "secretsmanager"}[prefix]
	if service == "" {
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "unknown service "+prefix)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Service: service, Operation: op, Body: body})
	if q := s.fail[op]; len(q) > 0 {
		s.fail[op] = q[1:]
		s.calls[len(s.calls)-1].Failed = true
		writeErr(w, http.StatusBadRequest, q[0], "injected failure")
		return
	}
	var in map[string]json.RawMessage
	_ = json.Unmarshal(body, &in)
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(in[k], &v)
		return v
	}
	switch service + "." + op {
	case "events.PutEvents":
		var req struct{ Entries []json.RawMessage }
		_ = json.Unmarshal(body, &req)
		entries := make([]map[string]string, len(req.Entries))
		for i := range entries {
			s.seq++
			entries[i] = map[string]string{"EventId": fmt.Sprintf("00000000-0000-0000-0000-%012d", s.seq)}
		}
		writeJSON(w, map[string]any{"FailedEntryCount": 0, "Entries": entries})
	case "secretsmanager.GetSecretValue":
		id := str("SecretId")
		v, ok := s.secrets[id]
		if !ok {
			writeErr(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		writeJSON(w, map[string]any{"ARN": s.arn("secretsmanager", "secret:"+id+"-AbCdEf"), "Name": id, "SecretString": v, "VersionId": "v1"})
	case "sfn.CreateStateMachine":
		name := str("name")
		arn := s.arn("states", "stateMachine:"+name)
		if m, ok := s.machines[arn]; ok {
			if m.Definition != str("definition") || m.Type != str("type") {
				writeErr(w, http.StatusBadRequest, "StateMachineAlreadyExists", "State Machine Already Exists: '"+arn+"'")
				return
			}
		} else {
			typ := str("type")
			if typ == "" {
				typ = "STANDARD"
			}
			s.machines[arn] = &machine{Name: name, Definition: str("definition"), RoleArn: str("roleArn"), Type: typ, Revision: 1, Published: map[int]string{}}
		}
		writeJSON(w, map[string]any{"stateMachineArn": arn, "creationDate": epoch()})
	case "sfn.UpdateStateMachine":
		m, ok := s.machines[str("stateMachineArn")]
		if !ok {
			writeErr(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist")
			return
		}
		if d := str("definition"); d != "" && d != m.Definition {
			m.Definition = d
			m.Revision++
		}
		writeJSON(w, map[string]any{"updateDate": epoch(), "revisionId": fmt.Sprint(m.Revision)})
	case "sfn.PublishStateMachineVersion":
		arn := str("stateMachineArn")
		m, ok := s.machines[arn]
		if !ok {
			writeErr(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist")
			return
		}
		if rev := str("revisionId"); rev != "" && rev != fmt.Sprint(m.Revision) {
			writeErr(w, http.StatusBadRequest, "ConflictException", "revision changed")
			return
		}
		v, ok := m.Published[m.Revision]
		if !ok {
			m.Versions++
			v = fmt.Sprintf("%s:%d", arn, m.Versions)
			m.Published[m.Revision] = v
		}
		writeJSON(w, map[string]any{"stateMachineVersionArn": v, "creationDate": epoch()})
	case "sfn.CreateStateMachineAlias", "sfn.UpdateStateMachineAlias":
		var req struct {
			Name                 string `json:"name"`
			StateMachineAliasArn string `json:"stateMachineAliasArn"`
			RoutingConfiguration []struct {
				StateMachineVersionArn string `json:"stateMachineVersionArn"`
			} `json:"routingConfiguration"`
		}
		_ = json.Unmarshal(body, &req)
		if len(req.RoutingConfiguration) == 0 {
			writeErr(w, http.StatusBadRequest, "ValidationException", "routingConfiguration is required")
			return
		}
		v := req.RoutingConfiguration[0].StateMachineVersionArn
		alias := req.StateMachineAliasArn
		if op == "CreateStateMachineAlias" {
			alias = v[:strings.LastIndexByte(v, ':')] + ":" + req.Name
			if cur, ok := s.aliases[alias]; ok && cur != v {
				writeErr(w, http.StatusBadRequest, "ConflictException", "alias exists")
				return
			}
		} else if _, ok := s.aliases[alias]; !ok {
			writeErr(w, http.StatusBadRequest, "ResourceNotFound", "alias not found")
			return
		}
		s.aliases[alias] = v
		writeJSON(w, map[string]any{"stateMachineAliasArn": alias, "creationDate": epoch(), "updateDate": epoch()})
	case "sfn.StartExecution":
		target := str("stateMachineArn")
		if v, ok := s.aliases[target]; ok {
			target = v
		}
		m := target
		if i := strings.Index(m, ":stateMachine:"); i >= 0 {
			if j := strings.IndexByte(m[i+len(":stateMachine:"):], ':'); j >= 0 {
				m = m[:i+len(":stateMachine:")+j]
			}
		}
		if _, ok := s.machines[m]; !ok {
			writeErr(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+str("stateMachineArn")+"'")
			return
		}
		name, input := str("name"), str("input")
		if input == "" {
			input = "{}"
		}
		key := m + "/" + name
		arn := strings.Replace(m, ":stateMachine:", ":execution:", 1) + ":" + name
		if e, ok := s.execs[key]; ok && e.Input != input {
			writeErr(w, http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
			return
		}
		s.execs[key] = execution{ARN: arn, Input: input}
		writeJSON(w, map[string]any{"executionArn": arn, "startDate": epoch()})
	case "sfn.SendTaskSuccess", "sfn.SendTaskFailure", "sfn.SendTaskHeartbeat":
		writeJSON(w, map[string]any{})
	default:
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "the fake does not implement "+target)
	}
}

func (s *Server) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, s.Region, s.Account, resource)
}

func epoch() float64 { return float64(time.Now().UnixMilli()) / 1000 }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
