package providers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/shared/clock"
	"github.com/switchboard-oss/switchboard/shared/ids"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Defaults of Client.
const (
	DefaultAttempts  = 4
	DefaultBaseDelay = 500 * time.Millisecond
	DefaultMaxDelay  = 30 * time.Second
	DefaultTimeout   = 10 * time.Second
	maxResponseBody  = 1 << 20
)

// Client sends provider API requests with a per-attempt timeout and retries
// with exponential backoff on 429 (honouring Retry-After), 5xx and network
// errors; other 4xx are not retried. The zero value is usable. Safe for
// concurrent use once configured.
type Client struct {
	HTTP      *http.Client  // default: a client using http.DefaultTransport
	Attempts  int           // total attempts; default DefaultAttempts
	BaseDelay time.Duration // first backoff, doubled after each retry; default DefaultBaseDelay
	MaxDelay  time.Duration // cap of a backoff and of an honoured Retry-After; default DefaultMaxDelay
	Timeout   time.Duration // per attempt; default DefaultTimeout
	// Sleep waits between attempts; tests inject one that records and returns
	// at once. Default: a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time // for Retry-After dates; default time.Now
	IDs   ids.Generator    // makes idempotency keys; default ids.Random
}

// Request is one provider API call.
type Request struct {
	Provider string // names the provider in error messages
	Method   string
	URL      string
	Header   http.Header
	Body     []byte
	// Redact lists values (tokens) that must never appear in an error message.
	Redact []string
	// Describe extracts a human description of a provider error and a
	// body-level retry hint (Telegram's parameters.retry_after). Optional.
	Describe func(body []byte) (description string, retryAfter time.Duration)
}

// Response is a successful (2xx) answer.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// IdempotencyKey returns msg.IdempotencyKey, or a new key.
func (c *Client) IdempotencyKey(msg Outbound) string {
	if msg.IdempotencyKey != "" {
		return msg.IdempotencyKey
	}
	g := c.IDs
	if g == nil {
		g = ids.Random{}
	}
	return g.New("snd")
}

// Do performs req, retrying as described on Client. Errors are *routing.Error:
// CodeInvalid when the provider refused the request (4xx other than 429),
// CodeUnavailable when attempts are exhausted, the wait asked by Retry-After
// exceeds MaxDelay, or ctx ends.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	base, maxDelay, timeout := c.BaseDelay, c.MaxDelay, c.Timeout
	if base <= 0 {
		base = DefaultBaseDelay
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	name := req.Provider
	if name == "" {
		name = "provider"
	}
	last := ""
	for attempt := 1; ; attempt++ {
		status, header, body, err := c.once(ctx, req, timeout)
		var retryAfter time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, routing.Errorf(routing.CodeUnavailable, "%s: request cancelled after %d attempt(s)", name, attempt)
			}
			last = "a network error or timeout"
		case status >= 200 && status < 300:
			return &Response{Status: status, Header: header, Body: body, Attempts: attempt}, nil
		case status == http.StatusTooManyRequests || status >= 500:
			last = "status " + strconv.Itoa(status)
			retryAfter = c.retryAfter(header)
			if req.Describe != nil {
				if _, hint := req.Describe(body); hint > retryAfter {
					retryAfter = hint
				}
			}
		default:
			msg := name + " rejected the message (status " + strconv.Itoa(status) + ")"
			if d := c.describe(req, body); d != "" {
				msg += ": " + d
			}
			return nil, &routing.Error{Code: routing.CodeInvalid, Message: msg}
		}
		if attempt >= attempts {
			return nil, routing.Errorf(routing.CodeUnavailable, "%s unavailable: %s after %d attempts", name, last, attempt)
		}
		delay := base << (attempt - 1)
		if delay > maxDelay || delay <= 0 {
			delay = maxDelay
		}
		if retryAfter > maxDelay {
			return nil, routing.Errorf(routing.CodeUnavailable, "%s unavailable: %s, retry after %s", name, last, retryAfter.Round(time.Second))
		}
		if retryAfter > delay {
			delay = retryAfter
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, routing.Errorf(routing.CodeUnavailable, "%s: request cancelled after %d attempt(s)", name, attempt)
		}
	}
}

// once performs one attempt. Transport errors are returned as they are; the
// caller never shows them (they may hold URLs with tokens).
func (c *Client) once(ctx context.Context, req Request, timeout time.Duration) (int, http.Header, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// A 2xx whose body was cut: the message was accepted; keep what we have.
		err = nil
	}
	return resp.StatusCode, resp.Header, body, err
}

func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

func (c *Client) describe(req Request, body []byte) string {
	if req.Describe == nil {
		return ""
	}
	d, _ := req.Describe(body)
	return Redact(d, req.Redact...)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

// Redact removes every non-empty secret from s and shortens it to 200 runes.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return Truncate(strings.TrimSpace(s), 200)
}

// BaseURL returns the channel's Config["baseUrl"] or def, without a trailing slash.
func BaseURL(ch routing.Channel, def string) string {
	if v := strings.TrimSpace(ch.Config["baseUrl"]); v != "" {
		return strings.TrimRight(v, "/")
	}
	return strings.TrimRight(def, "/")
}
