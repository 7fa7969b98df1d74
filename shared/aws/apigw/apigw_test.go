package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-oss/switchboard/shared/auth"
	"github.com/switchboard-oss/switchboard/shared/aws/apigw"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// sample reads a request of events/testdata.
func sample(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// seen is what the handler saw of the request.
type seen struct {
	Method, Path, RawPath, Query, Host, RemoteAddr, Proto, RequestURI string
	TLS                                                               bool
	Header                                                            http.Header
	Body                                                              string
	Principal                                                         *auth.Principal
	AuthErr                                                           string
}

func recording(out *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*out = seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host,
			RemoteAddr: r.RemoteAddr, Proto: r.Proto, RequestURI: r.RequestURI, TLS: r.TLS != nil, Header: r.Header.Clone(), Body: string(b)}
		p, err := auth.GatewayClaims{}.Authenticate(r)
		if err == nil {
			out.Principal = &p
		} else {
			out.AuthErr = string(routing.ErrorCode(err))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
}

func TestRequestFromSampleWithClaims(t *testing.T) {
	var got seen
	a := apigw.New(recording(&got))
	res, err := a.Invoke(context.Background(), sample(t, "apigw-list-conversations.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusAccepted || res.Body != `{"ok":true}` || res.IsBase64Encoded || res.Headers["Content-Type"] != "application/json" {
		t.Errorf("response %+v", res)
	}
	if got.Method != "GET" || got.Path != "/v1/conversations" || got.Query != "status=open&limit=20" ||
		got.RequestURI != "/v1/conversations?status=open&limit=20" || got.Proto != "HTTP/1.1" {
		t.Errorf("request line %+v", got)
	}
	if got.Host != "abc123defg.execute-api.eu-west-1.amazonaws.com" || got.RemoteAddr != "203.0.113.10:0" || !got.TLS {
		t.Errorf("host %q remote %q tls %v", got.Host, got.RemoteAddr, got.TLS)
	}
	if c := got.Header.Get("Cookie"); c != "theme=dark; session_hint=agents-ui" {
		t.Errorf("cookie header %q", c)
	}
	if got.Header.Get("Authorization") == "" || got.Header.Get("X-Forwarded-Proto") != "https" || got.Header.Get("X-Request-Id") != "YbHd2jK3joEEJ4B=" {
		t.Errorf("headers %v", got.Header)
	}
	if got.Principal == nil || got.Principal.Subject != "4f6c1c7e-9b2a-4d3e-8f10-2a5b6c7d8e9f" || got.Principal.Role != routing.RoleAdmin {
		t.Errorf("principal %+v (%s)", got.Principal, got.AuthErr)
	}
}

func TestBase64BodyAndPathEscapes(t *testing.T) {
	var got seen
	a := apigw.New(recording(&got))
	ev := sample(t, "apigw-create-team.json")
	if _, err := a.Invoke(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || !strings.Contains(got.Body, `"id":"sales"`) || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("method %s body %q", got.Method, got.Body)
	}
	ev.RawPath = "/v1/contacts/a%2Fb"
	ev.RequestContext.HTTP.Path = "/v1/contacts/a/b"
	ev.IsBase64Encoded = false
	ev.Body = "plain"
	if _, err := a.Invoke(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.RawPath != "/v1/contacts/a%2Fb" || got.Path != "/v1/contacts/a/b" || got.Body != "plain" {
		t.Errorf("raw path %q path %q body %q", got.RawPath, got.Path, got.Body)
	}
	ev.IsBase64Encoded = true
	ev.Body = "not base64!"
	res, err := a.Invoke(context.Background(), ev)
	if err != nil || res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, `"code":"invalid_argument"`) {
		t.Errorf("bad base64: %+v %v", res, err)
	}
}

func TestClaimsComeOnlyFromTheAuthorizer(t *testing.T) {
	var got seen
	ev := sample(t, "apigw-health.json") // a public route: no authorizer
	ev.Headers["x-switchboard-claims"] = `{"sub":"admin","role":"admin"}`
	ev.Headers["x-amzn-oidc-identity"] = "admin"
	ev.Headers["x-forwarded-user"] = "admin"
	ev.Headers["x-remote-user"] = "admin"
	ev.Headers["x-custom-keep"] = "kept"
	if _, err := apigw.New(recording(&got), apigw.StripHeaders("X-Custom-Drop")).Invoke(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.Principal != nil || got.AuthErr != string(routing.CodeUnauthenticated) {
		t.Errorf("a public request authenticated as %+v", got.Principal)
	}
	for _, h := range []string{"X-Switchboard-Claims", "X-Amzn-Oidc-Identity", "X-Forwarded-User", "X-Remote-User"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s reached the handler: %q", h, v)
		}
	}
	if got.Header.Get("X-Custom-Keep") != "kept" {
		t.Error("an ordinary header was dropped")
	}

	// the webhooks function ignores the authorizer even if one were configured
	ev = sample(t, "apigw-me.json")
	if _, err := apigw.New(recording(&got), apigw.WithoutClaims()).Invoke(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.Principal != nil {
		t.Errorf("WithoutClaims authenticated %+v", got.Principal)
	}
	// the handler cannot change the event's claims through the context map
	ev = sample(t, "apigw-me.json")
	mutating := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.GatewayClaims{}.Authenticate(r)
		if p.Role != routing.RoleAdmin {
			t.Errorf("role %q", p.Role)
		}
	})
	if _, err := apigw.New(mutating).Invoke(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if ev.RequestContext.Authorizer.JWT.Claims["cognito:groups"] != "[admin]" {
		t.Error("the event's claims changed")
	}
}

func TestResponseShapes(t *testing.T) {
	ev := sample(t, "apigw-health.json")
	cases := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, res events.APIGatewayV2HTTPResponse)
	}{
		{"cookies and multi-value headers", func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", HttpOnly: true, Secure: true})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Vary", "Origin")
			w.WriteHeader(http.StatusCreated)
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.StatusCode != 201 || len(res.Cookies) != 2 || res.Cookies[0] != "a=1; HttpOnly; Secure" || res.Cookies[1] != "b=2" {
				t.Errorf("cookies %v status %d", res.Cookies, res.StatusCode)
			}
			if res.Headers["Vary"] != "Accept, Origin" || res.Headers["Set-Cookie"] != "" {
				t.Errorf("headers %v", res.Headers)
			}
			if res.Body != "" || res.IsBase64Encoded {
				t.Errorf("body %q", res.Body)
			}
		}},
		{"binary body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			b, err := base64.StdEncoding.DecodeString(res.Body)
			if !res.IsBase64Encoded || err != nil || string(b) != "\x89PNG\x00\x01\x02" || res.StatusCode != 200 {
				t.Errorf("binary %+v", res)
			}
		}},
		{"compressed text is binary", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write([]byte("\x1f\x8b..."))
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if !res.IsBase64Encoded {
				t.Error("gzip body sent as text")
			}
		}},
		{"sniffed text", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.IsBase64Encoded || !strings.HasPrefix(res.Headers["Content-Type"], "text/html") || res.Body != "<html><body>hi</body></html>" {
				t.Errorf("sniffed %+v", res)
			}
		}},
		{"status after write is ignored", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "x")
			w.WriteHeader(http.StatusTeapot)
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.StatusCode != 200 {
				t.Errorf("status %d", res.StatusCode)
			}
		}},
		{"utf-8 text stays text", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "¡Hola, señora!")
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.IsBase64Encoded || res.Body != "¡Hola, señora!" {
				t.Errorf("text %+v", res)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := apigw.New(c.handler).Invoke(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, res)
		})
	}
}

func TestMalformedEvents(t *testing.T) {
	a := apigw.New(http.NotFoundHandler())
	for name, mutate := range map[string]func(*events.APIGatewayV2HTTPRequest){
		"no method":   func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = ""; e.RouteKey = "$default" },
		"bad method":  func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "GET X" },
		"bad base64":  func(e *events.APIGatewayV2HTTPRequest) { e.Body, e.IsBase64Encoded = "%%%", true },
		"odd percent": func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "/v1/%" },
	} {
		ev := sample(t, "apigw-health.json")
		mutate(&ev)
		res, err := a.Invoke(context.Background(), ev)
		if err != nil || res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %v", name, res.StatusCode, err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal([]byte(res.Body), &body) != nil || body.Error.Code != "invalid_argument" {
			t.Errorf("%s: body %q", name, res.Body)
		}
	}
	// a method taken from the route key when the context lacks it
	var got seen
	ev := sample(t, "apigw-health.json")
	ev.RequestContext.HTTP.Method = ""
	if _, err := apigw.New(recording(&got)).Invoke(context.Background(), ev); err != nil || got.Method != "GET" {
		t.Errorf("method from route key: %q %v", got.Method, err)
	}
}
