// Package apigw serves an http.Handler behind Amazon API Gateway HTTP APIs:
// it turns a Lambda proxy event of payload format 2.0
// (events.APIGatewayV2HTTPRequest) into an *http.Request, runs the handler
// and turns what it wrote into an events.APIGatewayV2HTTPResponse.
//
// Identity comes only from API Gateway: the claims its JWT authorizer
// verified (requestContext.authorizer.jwt.claims) are put in the request
// context with auth.WithClaims, for auth.GatewayClaims to read. Headers a
// client could use to claim an identity (X-Forwarded-User, X-Amzn-Oidc-*,
// X-Switchboard-Claims, ...) are removed before the handler runs, so no
// handler, present or future, can be fooled by them.
package apigw

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/shared/auth"
)

// Adapter serves one http.Handler to API Gateway HTTP API events. It is
// safe for concurrent use.
type Adapter struct {
	handler http.Handler
	claims  bool
	strip   []string // canonical header names
	prefix  []string // canonical header name prefixes
}

// Option configures an Adapter.
type Option func(*Adapter)

// WithoutClaims ignores the authorizer context: the handler never sees
// claims (the webhooks function, whose routes have no authorizer).
func WithoutClaims() Option { return func(a *Adapter) { a.claims = false } }

// StripHeaders removes more client headers (by name) before the handler runs.
func StripHeaders(names ...string) Option {
	return func(a *Adapter) {
		for _, n := range names {
			a.strip = append(a.strip, http.CanonicalHeaderKey(n))
		}
	}
}

// DefaultStripped are the client headers removed from every request: none of
// Switchboard's upstreams sets them, and each names a user in some proxy
// convention. The prefixes in DefaultStrippedPrefixes are removed too.
var DefaultStripped = []string{
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
	"X-Remote-User", "X-Remote-Group", "X-User", "X-User-Id", "X-Auth-Request-User", "X-Auth-Request-Email",
	"X-Apigateway-Event", "X-Apigateway-Context",
}

// DefaultStrippedPrefixes are header name prefixes removed from every request.
var DefaultStrippedPrefixes = []string{"X-Amzn-Oidc-", "X-Switchboard-Claim", "X-Ms-Client-Principal"}

// New returns an adapter for h. By default the JWT authorizer's claims reach
// the handler through auth.WithClaims.
func New(h http.Handler, opts ...Option) *Adapter {
	a := &Adapter{handler: h, claims: true}
	for _, n := range DefaultStripped {
		a.strip = append(a.strip, http.CanonicalHeaderKey(n))
	}
	a.prefix = append(a.prefix, DefaultStrippedPrefixes...)
	for _, o := range opts {
		o(a)
	}
	return a
}

// Invoke is the Lambda handler: lambda.Start(adapter.Invoke). It returns no
// error: an event API Gateway could not have sent gets a 400 answer. (A
// handler panic is recovered by the Lambda runtime, which reports a function
// error; API Gateway then answers 500.)
func (a *Adapter) Invoke(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	r, err := a.Request(ctx, ev)
	if err != nil {
		return errorResponse(http.StatusBadRequest, "invalid_argument", err.Error()), nil
	}
	w := newRecorder()
	a.handler.ServeHTTP(w, r)
	return w.response(), nil
}

type badRequest string

func (e badRequest) Error() string { return string(e) }

// Request builds the *http.Request of a payload 2.0 event: method, raw path
// and query, headers (comma-joined values as API Gateway sends them, cookies
// from the cookies array), body (base64-decoded when isBase64Encoded), host,
// remote address and, when claims are on, the authorizer's JWT claims in
// the context.
func (a *Adapter) Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		if m, _, ok := strings.Cut(ev.RouteKey, " "); ok && m != "$default" {
			method = m
		}
	}
	if method == "" || strings.ContainsAny(method, " \t\r\n") {
		return nil, badRequest("the event has no HTTP method")
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, badRequest("the event's path or query string is malformed")
	}

	var body []byte
	if ev.Body != "" {
		if ev.IsBase64Encoded {
			body, err = base64.StdEncoding.DecodeString(ev.Body)
			if err != nil {
				return nil, badRequest("the event's body is not valid base64")
			}
		} else {
			body = []byte(ev.Body)
		}
	}

	if a.claims {
		if c := jwtClaims(ev); c != nil {
			ctx = auth.WithClaims(ctx, c)
		}
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, badRequest("the event cannot be made into a request")
	}
	r.URL = u
	r.RequestURI = target
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	proto := ev.RequestContext.HTTP.Protocol
	if major, minor, ok := http.ParseHTTPVersion(proto); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = proto, major, minor
	}

	for k, v := range ev.Headers {
		name := http.CanonicalHeaderKey(k)
		if a.stripped(name) || name == "Cookie" || name == "Content-Length" {
			continue
		}
		r.Header[name] = append(r.Header[name], v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	} else if c, ok := ev.Headers["cookie"]; ok && c != "" {
		r.Header.Set("Cookie", c) // an event written by hand with a cookie header
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Header.Del("Host")
	u.Host = r.Host
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = ip + ":0"
	}
	if strings.EqualFold(first(r.Header.Get("X-Forwarded-Proto")), "https") {
		r.TLS = &tls.ConnectionState{ServerName: r.Host}
	}
	if id := ev.RequestContext.RequestID; id != "" && r.Header.Get("X-Request-Id") == "" {
		r.Header.Set("X-Request-Id", id)
	}
	return r, nil
}

func (a *Adapter) stripped(name string) bool {
	if slices.Contains(a.strip, name) {
		return true
	}
	for _, p := range a.prefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// jwtClaims copies the JWT authorizer's claims; nil when there are none.
func jwtClaims(ev events.APIGatewayV2HTTPRequest) map[string]string {
	az := ev.RequestContext.Authorizer
	if az == nil || az.JWT == nil || len(az.JWT.Claims) == 0 {
		return nil
	}
	return maps.Clone(az.JWT.Claims)
}

func first(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// recorder is the ResponseWriter the handler writes to.
type recorder struct {
	header      http.Header
	status      int
	body        bytes.Buffer
	wroteHeader bool
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.wroteHeader || code < 100 || code > 999 {
		return
	}
	if code >= 100 && code < 200 { // informational: not part of a Lambda proxy answer
		return
	}
	w.status = code
	w.wroteHeader = true
}

func (w *recorder) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.body.Len() == 0 && w.header.Get("Content-Type") == "" && len(p) > 0 && w.header.Get("Content-Encoding") == "" {
		// as net/http does: sniff the first write
		w.header.Set("Content-Type", http.DetectContentType(p))
	}
	return w.body.Write(p)
}

// Flush is a no-op: the answer is sent whole when the handler returns.
func (w *recorder) Flush() {}

func (w *recorder) response() events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range w.header {
		if len(vs) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			res.Cookies = append(res.Cookies, vs...)
			continue
		}
		res.Headers[k] = strings.Join(vs, ", ")
	}
	if w.body.Len() > 0 {
		b := w.body.Bytes()
		if isText(w.header.Get("Content-Type"), w.header.Get("Content-Encoding")) && utf8.Valid(b) {
			res.Body = string(b)
		} else {
			res.Body = base64.StdEncoding.EncodeToString(b)
			res.IsBase64Encoded = true
		}
	}
	return res
}

// isText reports whether a body of this type goes out as text; anything else
// (images, octet streams, compressed bodies) is base64-encoded.
func isText(contentType, encoding string) bool {
	if encoding != "" && !strings.EqualFold(encoding, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/yaml", mt == "application/x-yaml", mt == "image/svg+xml":
		return true
	}
	return false
}

// errorResponse is the API's error shape, for requests that never reach the handler.
func errorResponse(status int, code, msg string) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": msg}})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
		Body:       string(b) + "\n",
	}
}
