// Package providertest holds test support shared by the provider packages: a
// scripted provider API server, a sleep recorder, testdata loading, and
// RunSenderSuite, the retry/idempotency behaviour every Sender must show.
package providertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Sleeper records the waits of a providers.Client and returns at once.
type Sleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

// Sleep records d.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays = append(s.delays, d)
	return ctx.Err()
}

// Delays returns the recorded waits.
func (s *Sleeper) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// Client returns a providers.Client that never really sleeps.
func Client(s *Sleeper, attempts int) *providers.Client {
	return &providers.Client{
		Attempts:  attempts,
		BaseDelay: 100 * time.Millisecond,
		MaxDelay:  5 * time.Second,
		Timeout:   5 * time.Second,
		Sleep:     s.Sleep,
	}
}

// Reply is one scripted answer.
type Reply struct {
	Status int
	Header map[string]string
	Body   string
}

// Recorded is one request the server received.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Server answers with its replies in order, repeating the last one.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	replies []Reply
	calls   []Recorded
}

// NewServer starts a server closed at the end of the test.
func NewServer(t testing.TB, replies ...Reply) *Server {
	t.Helper()
	if len(replies) == 0 {
		t.Fatal("providertest: NewServer needs at least one reply")
	}
	s := &Server{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, Recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.calls...)
}

// Testdata returns the files of dir (usually "testdata") matching glob, by base name, sorted.
func Testdata(t testing.TB, glob string) (names []string, files map[string][]byte) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(paths) == 0 {
		t.Fatalf("providertest: no testdata matching %q", glob)
	}
	sort.Strings(paths)
	files = map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
		files[filepath.Base(p)] = b
	}
	return names, files
}

// SenderCase describes a sender for RunSenderSuite.
type SenderCase struct {
	// New builds the sender with the client to test.
	New func(c *providers.Client) providers.Sender
	// Channel returns the channel to send with, its API at baseURL.
	Channel func(baseURL string) routing.Channel
	Secret  string
	To      string
	// OK is the provider's success answer; WantID the id Send must return from it.
	OK     Reply
	WantID string
	// ErrorBody builds the provider's error body carrying description.
	ErrorBody func(description string) string
	// IdempotencyHeader is the header carrying the key ("" when the provider takes none).
	IdempotencyHeader string
}

// RunSenderSuite checks retries, backoff, Retry-After, giving up, no retry on
// 4xx, the idempotency key and that errors never show the secret.
func RunSenderSuite(t *testing.T, c SenderCase) {
	ctx := context.Background()
	msg := providers.Outbound{To: c.To, Text: "Your ticket is open", IdempotencyKey: "idem-7f3a"}
	send := func(t *testing.T, attempts int, replies ...Reply) (string, *Server, *Sleeper, error) {
		t.Helper()
		srv := NewServer(t, replies...)
		sl := &Sleeper{}
		s := c.New(Client(sl, attempts))
		id, err := s.Send(ctx, c.Channel(srv.URL), c.Secret, msg)
		return id, srv, sl, err
	}
	checkKey := func(t *testing.T, calls []Recorded) {
		t.Helper()
		if c.IdempotencyHeader == "" {
			return
		}
		for i, r := range calls {
			if got := r.Header.Get(c.IdempotencyHeader); got != msg.IdempotencyKey {
				t.Errorf("attempt %d: %s = %q, want %q", i+1, c.IdempotencyHeader, got, msg.IdempotencyKey)
			}
		}
	}

	t.Run("success first time", func(t *testing.T) {
		id, srv, sl, err := send(t, 4, c.OK)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if id != c.WantID {
			t.Errorf("id = %q, want %q", id, c.WantID)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
		if len(sl.Delays()) != 0 {
			t.Errorf("slept %v on success", sl.Delays())
		}
		checkKey(t, srv.Calls())
	})

	t.Run("retries 500 then 429 then succeeds", func(t *testing.T) {
		id, srv, sl, err := send(t, 4,
			Reply{Status: 500, Body: `{}`},
			Reply{Status: 429, Header: map[string]string{"Retry-After": "2"}, Body: `{}`},
			c.OK)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if id != c.WantID {
			t.Errorf("id = %q, want %q", id, c.WantID)
		}
		calls := srv.Calls()
		if len(calls) != 3 {
			t.Fatalf("%d calls, want 3", len(calls))
		}
		for i := 1; i < len(calls); i++ {
			if string(calls[i].Body) != string(calls[0].Body) {
				t.Errorf("attempt %d body differs from the first:\n%s\n%s", i+1, calls[i].Body, calls[0].Body)
			}
		}
		checkKey(t, calls)
		d := sl.Delays()
		if len(d) != 2 {
			t.Fatalf("delays %v, want 2", d)
		}
		if d[0] != 100*time.Millisecond {
			t.Errorf("first backoff %v, want 100ms", d[0])
		}
		if d[1] != 2*time.Second {
			t.Errorf("second wait %v, want Retry-After 2s", d[1])
		}
	})

	t.Run("gives up after N attempts", func(t *testing.T) {
		_, srv, sl, err := send(t, 3, Reply{Status: 503, Body: `{}`})
		if routing.ErrorCode(err) != routing.CodeUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "3 attempts") {
			t.Errorf("err %q should name the status and the attempts", err)
		}
		if n := len(srv.Calls()); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if d := sl.Delays(); len(d) != 2 || d[0] != 100*time.Millisecond || d[1] != 200*time.Millisecond {
			t.Errorf("delays %v, want [100ms 200ms]", d)
		}
		checkKey(t, srv.Calls())
	})

	t.Run("no retry on 400", func(t *testing.T) {
		_, srv, sl, err := send(t, 4, Reply{Status: 400, Body: c.ErrorBody("Recipient 4711 is not reachable")})
		if routing.ErrorCode(err) != routing.CodeInvalid {
			t.Fatalf("err = %v, want invalid_argument", err)
		}
		if !strings.Contains(err.Error(), "Recipient 4711 is not reachable") || !strings.Contains(err.Error(), "400") {
			t.Errorf("err %q should carry the status and the provider's description", err)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
		if len(sl.Delays()) != 0 {
			t.Errorf("slept %v", sl.Delays())
		}
	})

	t.Run("Retry-After beyond the cap gives up at once", func(t *testing.T) {
		_, srv, _, err := send(t, 4, Reply{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: `{}`})
		if routing.ErrorCode(err) != routing.CodeUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})

	t.Run("network error is retried and never shows the secret", func(t *testing.T) {
		sl := &Sleeper{}
		s := c.New(Client(sl, 2))
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close() // connection refused
		_, err := s.Send(ctx, c.Channel(base), c.Secret, msg)
		if routing.ErrorCode(err) != routing.CodeUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if strings.Contains(err.Error(), c.Secret) || strings.Contains(err.Error(), base) {
			t.Errorf("error leaks the secret or URL: %q", err)
		}
		if len(sl.Delays()) != 1 {
			t.Errorf("delays %v, want one retry", sl.Delays())
		}
	})

	t.Run("cancelled context stops retrying", func(t *testing.T) {
		srv := NewServer(t, Reply{Status: 500, Body: `{}`})
		cctx, cancel := context.WithCancel(ctx)
		sl := &Sleeper{}
		cl := Client(sl, 10)
		cl.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return sl.Sleep(ctx, d)
		}
		_, err := c.New(cl).Send(cctx, c.Channel(srv.URL), c.Secret, msg)
		if routing.ErrorCode(err) != routing.CodeUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls after cancel, want 1", n)
		}
	})

	t.Run("errors never show the secret", func(t *testing.T) {
		leaky := Reply{Status: 401, Body: c.ErrorBody("bad token " + c.Secret + " for this request")}
		_, _, _, err := send(t, 2, leaky)
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), c.Secret) {
			t.Errorf("error leaks the secret: %q", err)
		}
		if !strings.Contains(err.Error(), "bad token [redacted] for this request") {
			t.Errorf("error %q should keep the description, redacted", err)
		}
		var re *routing.Error
		if !errors.As(err, &re) {
			t.Errorf("err is %T, want *routing.Error", err)
		}
	})
}
