// Package lambdaruntime is a minimal implementation of the AWS Lambda
// Runtime API (the HTTP protocol a provided.al2023 bootstrap talks to), so
// tests can run the real function binaries as Lambda would: the process
// polls GET /2018-06-01/runtime/invocation/next, gets one event with its
// request id, deadline, function ARN and trace id in headers, and answers
// POST .../invocation/{id}/response or .../invocation/{id}/error; a function
// that cannot start posts /2018-06-01/runtime/init/error.
//
// One Server serves one function process at a time, like one execution
// environment: Invoke queues an event and waits for the function's answer.
package lambdaruntime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// APIVersion is the Runtime API version in every path.
const APIVersion = "2018-06-01"

// Header names of the Runtime API.
const (
	HeaderRequestID   = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadline    = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID     = "Lambda-Runtime-Trace-Id"
	HeaderErrorType   = "Lambda-Runtime-Function-Error-Type"
)

// Result is a function's answer to one invocation.
type Result struct {
	RequestID string
	// Payload is the response body (nil after an error).
	Payload []byte
	// ErrorType and ErrorMessage are set when the function reported an error.
	ErrorType    string
	ErrorMessage string
	// Duration is the time from handing the event out to the answer.
	Duration time.Duration
}

// InitError is what a function posted to /runtime/init/error.
type InitError struct {
	Type    string // the Lambda-Runtime-Function-Error-Type header
	Message string // errorMessage of the body
	Body    []byte
}

type invocation struct {
	id      string
	payload []byte
	timeout time.Duration
	sent    time.Time
	done    chan Result
}

// Server is the fake Runtime API.
type Server struct {
	// FunctionARN is sent with every invocation.
	FunctionARN string
	// Timeout is each invocation's deadline (default 30s).
	Timeout time.Duration

	srv      *http.Server
	ln       net.Listener
	queue    chan *invocation
	mu       sync.Mutex
	inflight map[string]*invocation
	seq      int
	first    time.Time
	nexts    int
	initErr  chan InitError
}

// Start listens on a loopback port and serves the Runtime API.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		FunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:switchboard-test",
		Timeout:     30 * time.Second,
		ln:          ln,
		queue:       make(chan *invocation, 16),
		inflight:    map[string]*invocation{},
		initErr:     make(chan InitError, 1),
	}
	mux := http.NewServeMux()
	base := "/" + APIVersion + "/runtime/"
	mux.HandleFunc("GET "+base+"invocation/next", s.next)
	mux.HandleFunc("POST "+base+"invocation/{id}/response", s.response)
	mux.HandleFunc("POST "+base+"invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST "+base+"init/error", s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Address is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *Server) Address() string { return s.ln.Addr().String() }

// Close stops the server; pending Invoke calls fail.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// FirstNext is when the function first asked for an invocation (zero if
// never): the end of its initialisation.
func (s *Server) FirstNext() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

// InitErrors delivers what the function posted to /runtime/init/error.
func (s *Server) InitErrors() <-chan InitError { return s.initErr }

// Invoke hands payload to the function and waits for its answer.
func (s *Server) Invoke(ctx context.Context, payload []byte) (Result, error) {
	s.mu.Lock()
	s.seq++
	inv := &invocation{id: fmt.Sprintf("8476a536-e9f4-11e8-9739-%012d", s.seq), payload: payload, timeout: s.Timeout, done: make(chan Result, 1)}
	s.mu.Unlock()
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-inv.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("invocation %s: %w", inv.id, ctx.Err())
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.nexts++
	s.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	}
	inv.sent = time.Now()
	s.mu.Lock()
	s.inflight[inv.id] = inv
	s.mu.Unlock()
	h := w.Header()
	h.Set(HeaderRequestID, inv.id)
	h.Set(HeaderDeadline, strconv.FormatInt(inv.sent.Add(inv.timeout).UnixMilli(), 10))
	h.Set(HeaderFunctionARN, s.FunctionARN)
	h.Set(HeaderTraceID, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

func (s *Server) take(w http.ResponseWriter, id string) *invocation {
	s.mu.Lock()
	inv := s.inflight[id]
	delete(s.inflight, id)
	s.mu.Unlock()
	if inv == nil {
		writeStatus(w, http.StatusBadRequest, "InvalidRequestID", "unknown request id "+id)
	}
	return inv
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20+1))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > 6<<20 {
		writeStatus(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response larger than 6 MB")
		return
	}
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	writeStatus(w, http.StatusAccepted, "", "")
	inv.done <- Result{RequestID: inv.id, Payload: body, Duration: time.Since(inv.sent)}
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	res := Result{RequestID: inv.id, ErrorType: r.Header.Get(HeaderErrorType), Duration: time.Since(inv.sent)}
	// aws-lambda-go sends the error as a JSON body (and, for streamed
	// responses, in trailers).
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(body, &e) == nil {
		res.ErrorMessage = e.Message
		if e.Type != "" {
			res.ErrorType = e.Type
		}
	}
	if t := r.Trailer.Get(HeaderErrorType); t != "" {
		res.ErrorType = t
	}
	writeStatus(w, http.StatusAccepted, "", "")
	inv.done <- res
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e struct {
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &e)
	writeStatus(w, http.StatusAccepted, "", "")
	select {
	case s.initErr <- InitError{Type: r.Header.Get(HeaderErrorType), Message: e.Message, Body: body}:
	default:
	}
}

func writeStatus(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errType == "" {
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		return
	}
	b, _ := json.Marshal(map[string]string{"errorType": errType, "errorMessage": msg})
	_, _ = w.Write(b)
}
