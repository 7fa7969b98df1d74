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
// machines with versions and aliases, executions, secrets by name. It does
// not check signatures, and it never runs an execution (they stay RUNNING
// until FinishExecution).
//
// Step Functions semantics it follows, as AWS documents them rather than as
// would be convenient:
//   - Standard executions are deduplicated by name: the same name and input
//     answer the running execution, another input (or an ended execution)
//     ExecutionAlreadyExists. Express starts are never deduplicated: every
//     StartExecution is a new execution (ExecutionsNamed counts them).
//   - Limits: a definition over 1,048,576 characters and an execution input
//     over 262,144 bytes are refused with ValidationException; a machine
//     holds at most MaxVersions published versions (PublishStateMachineVersion
//     then answers ServiceQuotaExceededException); DeleteStateMachineVersion
//     of a version an alias points at answers ConflictException; a deleted
//     version cannot be started (ResourceNotFound).
//   - ListExecutions filters by machine, version or alias ARN and status, and
//     answers StateMachineTypeNotSupported for Express machines.
//   - Alias updates are eventually consistent when DelayAliasUpdates(true):
//     StartExecution on the alias keeps reaching the previous version until
//     PropagateAliases.
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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
	aliases  map[string]*alias   // by alias ARN
	execs    map[string]*execution
	order    []*execution
	fail     map[string][]string // operation -> queued error types
	seq      int
	lagAlias bool
}

// Step Functions limits the fake enforces.
const (
	MaxDefinitionChars = 1048576
	MaxInputBytes      = 262144
	MaxVersions        = 1000
)

type machine struct {
	Name, Definition, RoleArn, Type string
	Revision                        int
	Published                       map[int]string // revision -> version ARN (live versions only)
	Versions                        int            // last version number used
}

type alias struct {
	visible, pending string // version ARNs: what starts reach, and an update not yet propagated
}

type execution struct {
	ARN, Name, Machine, Version, Input, Status string
	Via                                        string // the ARN it was started with
}

// ExecutionInfo describes an execution started on the fake.
type ExecutionInfo struct {
	ARN, Name, Input string
	// Version is the version ARN the execution runs (through an alias: the
	// version the alias reached at the time).
	Version string
	Status  string // RUNNING until FinishExecution
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{Region: "us-east-1", Account: "123456789012", secrets: map[string]string{},
		machines: map[string]*machine{}, aliases: map[string]*alias{}, execs: map[string]*execution{}, fail: map[string][]string{}}
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
	for _, e := range s.order {
		out[e.Name] = e.Input
	}
	return out
}

// StartedExecutions returns every execution started, in order (Express
// starts of one name are several).
func (s *Server) StartedExecutions() []ExecutionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ExecutionInfo, len(s.order))
	for i, e := range s.order {
		out[i] = ExecutionInfo{ARN: e.ARN, Name: e.Name, Input: e.Input, Version: e.Version, Status: e.Status}
	}
	return out
}

// ExecutionsNamed counts the executions started with a name.
func (s *Server) ExecutionsNamed(name string) int {
	n := 0
	for _, e := range s.StartedExecutions() {
		if e.Name == name {
			n++
		}
	}
	return n
}

// FinishExecution ends every running execution with the name (status
// SUCCEEDED, FAILED, ...).
func (s *Server) FinishExecution(name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.order {
		if e.Name == name && e.Status == "RUNNING" {
			e.Status = status
		}
	}
}

// DelayAliasUpdates makes alias updates eventually consistent: until
// PropagateAliases, starts on an alias reach the version it had before.
func (s *Server) DelayAliasUpdates(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lagAlias = on
}

// PropagateAliases makes every pending alias update visible.
func (s *Server) PropagateAliases() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.aliases {
		if a.pending != "" {
			a.visible, a.pending = a.pending, ""
		}
	}
}

// Versions returns the live (published, not deleted) version ARNs of a
// state machine by name, oldest first.
func (s *Server) Versions(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.machines {
		if m.Name == name {
			return m.versionList()
		}
	}
	return nil
}

func (m *machine) versionList() []string {
	out := make([]string, 0, len(m.Published))
	for _, v := range m.Published {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return versionNumber(out[i]) < versionNumber(out[j]) })
	return out
}

func versionNumber(arn string) int {
	n, _ := strconv.Atoi(arn[strings.LastIndexByte(arn, ':')+1:])
	return n
}

// machineOf is the machine ARN of a machine, version or alias ARN.
func machineOf(arn string) string {
	i := strings.Index(arn, ":stateMachine:")
	if i < 0 {
		return arn
	}
	if j := strings.IndexByte(arn[i+len(":stateMachine:"):], ':'); j >= 0 {
		return arn[:i+len(":stateMachine:")+j]
	}
	return arn
}

// isVersion reports whether arn is a live version of m.
func (m *machine) isVersion(arn string) bool {
	for _, v := range m.Published {
		if v == arn {
			return true
		}
	}
	return false
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
	case "sfn.CreateStateMachine", "sfn.UpdateStateMachine":
		if n := utf8.RuneCountInString(str("definition")); n > MaxDefinitionChars {
			writeErr(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to %d", MaxDefinitionChars))
			return
		}
		if op == "UpdateStateMachine" {
			s.updateMachine(w, str)
			return
		}
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
			if len(m.Published) >= MaxVersions {
				writeErr(w, http.StatusBadRequest, "ServiceQuotaExceededException", fmt.Sprintf("The state machine already has %d published versions; delete unused versions with DeleteStateMachineVersion", MaxVersions))
				return
			}
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
		if m, ok := s.machines[machineOf(v)]; !ok || !m.isVersion(v) {
			writeErr(w, http.StatusBadRequest, "ResourceNotFound", "Resource not found: '"+v+"'")
			return
		}
		arn := req.StateMachineAliasArn
		if op == "CreateStateMachineAlias" {
			arn = machineOf(v) + ":" + req.Name
			if cur, ok := s.aliases[arn]; ok {
				if cur.target() != v {
					writeErr(w, http.StatusBadRequest, "ConflictException", "alias exists")
					return
				}
			} else {
				s.aliases[arn] = &alias{visible: v}
			}
		} else {
			a, ok := s.aliases[arn]
			if !ok {
				writeErr(w, http.StatusBadRequest, "ResourceNotFound", "alias not found")
				return
			}
			if s.lagAlias {
				a.pending = v
			} else {
				a.visible, a.pending = v, ""
			}
		}
		writeJSON(w, map[string]any{"stateMachineAliasArn": arn, "creationDate": epoch(), "updateDate": epoch()})
	case "sfn.DeleteStateMachineVersion":
		v := str("stateMachineVersionArn")
		m, ok := s.machines[machineOf(v)]
		if !ok || !m.isVersion(v) {
			writeJSON(w, map[string]any{}) // already gone
			return
		}
		for arn, a := range s.aliases {
			if a.visible == v || a.pending == v {
				writeErr(w, http.StatusBadRequest, "ConflictException", "Version '"+v+"' is referenced by alias '"+arn+"'")
				return
			}
		}
		for rev, pv := range m.Published {
			if pv == v {
				delete(m.Published, rev)
			}
		}
		writeJSON(w, map[string]any{})
	case "sfn.ListStateMachineVersions":
		m, ok := s.machines[str("stateMachineArn")]
		if !ok {
			writeErr(w, http.StatusBadRequest, "ResourceNotFound", "State Machine Does Not Exist")
			return
		}
		list := m.versionList()
		slices.Reverse(list) // newest first
		var req struct {
			MaxResults int    `json:"maxResults"`
			NextToken  string `json:"nextToken"`
		}
		_ = json.Unmarshal(body, &req)
		page := req.MaxResults
		if page <= 0 || page > 1000 {
			page = 100
		}
		from, _ := strconv.Atoi(req.NextToken)
		items := []map[string]any{}
		for i := from; i < len(list) && i < from+page; i++ {
			items = append(items, map[string]any{"stateMachineVersionArn": list[i], "creationDate": epoch()})
		}
		out := map[string]any{"stateMachineVersions": items}
		if from+page < len(list) {
			out["nextToken"] = strconv.Itoa(from + page)
		}
		writeJSON(w, out)
	case "sfn.ListExecutions":
		target := str("stateMachineArn")
		m, ok := s.machines[machineOf(target)]
		if !ok {
			writeErr(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist")
			return
		}
		if m.Type == "EXPRESS" {
			writeErr(w, http.StatusBadRequest, "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
			return
		}
		status := str("statusFilter")
		items := []map[string]any{}
		for i := len(s.order) - 1; i >= 0; i-- { // newest first
			e := s.order[i]
			if e.Machine != machineOf(target) || status != "" && e.Status != status {
				continue
			}
			if _, isAlias := s.aliases[target]; isAlias && e.Via != target || !isAlias && target != e.Machine && e.Version != target {
				continue
			}
			items = append(items, map[string]any{"executionArn": e.ARN, "name": e.Name, "stateMachineArn": e.Machine,
				"status": e.Status, "startDate": epoch(), "stateMachineVersionArn": e.Version})
		}
		writeJSON(w, map[string]any{"executions": items})
	case "sfn.StartExecution":
		target := str("stateMachineArn")
		m := machineOf(target)
		mc, ok := s.machines[m]
		if !ok {
			writeErr(w, http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+target+"'")
			return
		}
		version := ""
		switch a, isAlias := s.aliases[target]; {
		case isAlias:
			version = a.visible
		case target != m:
			if !mc.isVersion(target) {
				writeErr(w, http.StatusBadRequest, "ResourceNotFound", "Resource not found: '"+target+"'")
				return
			}
			version = target
		}
		name, input := str("name"), str("input")
		if input == "" {
			input = "{}"
		}
		if len(input) > MaxInputBytes {
			writeErr(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to %d", MaxInputBytes))
			return
		}
		key := m + "/" + name
		arn := strings.Replace(m, ":stateMachine:", ":execution:", 1) + ":" + name
		if mc.Type == "EXPRESS" {
			// Not deduplicated: every start is an execution of its own.
			s.seq++
			arn = strings.Replace(m, ":stateMachine:", ":express:", 1) + ":" + name + ":" + fmt.Sprintf("%08d", s.seq)
			key = arn
		} else if e, ok := s.execs[key]; ok {
			if e.Input != input || e.Status != "RUNNING" {
				writeErr(w, http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
				return
			}
			writeJSON(w, map[string]any{"executionArn": e.ARN, "startDate": epoch()})
			return
		}
		e := &execution{ARN: arn, Name: name, Machine: m, Version: version, Input: input, Status: "RUNNING", Via: target}
		s.execs[key] = e
		s.order = append(s.order, e)
		writeJSON(w, map[string]any{"executionArn": arn, "startDate": epoch()})
	case "sfn.SendTaskSuccess", "sfn.SendTaskFailure", "sfn.SendTaskHeartbeat":
		writeJSON(w, map[string]any{})
	default:
		writeErr(w, http.StatusBadRequest, "UnknownOperationException", "the fake does not implement "+target)
	}
}

func (a *alias) target() string {
	if a.pending != "" {
		return a.pending
	}
	return a.visible
}

func (s *Server) updateMachine(w http.ResponseWriter, str func(string) string) {
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
