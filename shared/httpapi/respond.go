// Package httpapi is Switchboard's HTTP API: one net/http handler served by
// the local server and, through an API Gateway adapter, by Lambda. Handlers
// decode, make one engine call and encode; only this package (through its
// leaf httperror) maps error codes to HTTP status codes.
package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-oss/switchboard/shared/httpapi/httperror"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// MaxBody is the largest request body accepted, in bytes.
const MaxBody = 1 << 20

// WriteError writes err in the one error shape. Foreign errors become
// "internal" without their text, which is logged instead (on the request's
// log line).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	info := infoFrom(r.Context())
	if info != nil {
		info.err = err // logged with its cause on the request's line
	}
	var e *routing.Error
	if !errors.As(err, &e) {
		if info == nil {
			slog.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		e = &routing.Error{Code: routing.CodeInternal, Message: "internal error"}
	}
	httperror.Write(w, e)
}

// WriteJSON writes v as the JSON body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Decode reads a JSON body strictly: at most MaxBody bytes, valid UTF-8, no
// unknown fields, one value. Errors name the offending field by the JSON path
// the client sent (maxConcurrent, teams[1], fields.vip).
func Decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return routing.Invalid("", "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return decodeError(err, nil)
	}
	if !utf8.Valid(body) {
		return invalidUTF8(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, body)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return routing.Invalid("", "the body must hold exactly one JSON object")
	}
	return nil
}

// invalidUTF8 names the field whose text is not valid UTF-8 (encoding/json
// would silently replace it with U+FFFD).
func invalidUTF8(body []byte) error {
	off := 0
	for off < len(body) {
		r, n := utf8.DecodeRune(body[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	field := pathAt(body, int64(off)+1)
	if field == "" {
		return routing.Invalid("", "the body is not valid UTF-8 (at byte %d)", off)
	}
	return routing.Invalid(field, "%s is not valid UTF-8 text", field)
}

// pathAt is the JSON path (a.b[1].c) of the first token of body that ends at
// or after byte offset end (for a key, the path of its object), or "" when
// there is none or the body is malformed before it.
func pathAt(body []byte, end int64) string {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		return b.String()
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		reached := dec.InputOffset() >= end
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if key, ok := tok.(string); ok {
				if reached { // the key itself: name the object that holds it
					stack = stack[:n-1]
					return path()
				}
				stack[n-1].key, stack[n-1].wantKey = key, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if reached {
				return path()
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), wantKey: true})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			if reached {
				return path()
			}
			valueDone()
		}
	}
}

func decodeError(err error, body []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &routing.Error{Code: routing.CodeInvalid, Reason: httperror.ReasonTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
	case errors.As(err, &syn):
		return routing.Invalid("", "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := "body"
		if typ.Field != "" {
			// typ.Field names Go types of embedded structs (AgentPatch.maxConcurrent):
			// name the path the client sent instead.
			if field = pathAt(body, typ.Offset); field == "" {
				field = typ.Field
			}
		}
		return routing.Invalid(field, "%s must be a %s", field, jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF):
		return routing.Invalid("", "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return routing.Invalid("", "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return routing.Invalid(f, "unknown field %q", f)
	}
	return routing.Invalid("", "malformed JSON: %s", err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return k
}

func queryInt(r *http.Request, name string, def, min, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, routing.Invalid(name, "%s must be a whole number from %d to %d", name, min, max)
	}
	return n, nil
}

// page is the list response shape.
type page[T any] struct {
	Items []T     `json:"items"`
	Next  *string `json:"next"`
}

func newPage[T any](items []T, next string) page[T] {
	if items == nil {
		items = []T{}
	}
	p := page[T]{Items: items}
	if next != "" {
		p.Next = &next
	}
	return p
}
