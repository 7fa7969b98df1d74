package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// An intrinsic is a compiled intrinsic function call such as
// States.Format('Hello {}', $.name).
type intrinsic struct {
	name string
	args []iarg
	fn   intrinsicFunc
}

type iargKind int

const (
	argLiteral iargKind = iota
	argPath
	argCall
)

type iarg struct {
	kind iargKind
	lit  any    // argLiteral: string, json.Number, bool or nil
	raw  string // argLiteral strings: the text between the quotes, escapes kept
	path *jpath
	call *intrinsic
}

// evalEnv is what intrinsics need from the running execution.
type evalEnv struct {
	newUUID func() string
}

type intrinsicFunc struct {
	min, max int // argument count; max < 0 means variadic
	call     func(args []any, raw []iarg, env *evalEnv) (any, error)
}

// intrinsics lists the supported functions. States.MathRandom is left out on
// purpose: the runner is deterministic under an injected clock and ids.
var intrinsics map[string]intrinsicFunc

func init() {
	intrinsics = map[string]intrinsicFunc{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, fnArray},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.UUID":           {0, 0, fnUUID},
	}
}

// isIntrinsic tells whether a ".$" value is an intrinsic call rather than a path.
func isIntrinsic(s string) bool { return strings.HasPrefix(s, "States.") }

// parseIntrinsic compiles an intrinsic function call.
func parseIntrinsic(s string) (*intrinsic, error) {
	p := &iparser{src: s}
	call, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("intrinsic function %q: %v", s, err)
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("intrinsic function %q: unexpected %q after the call", s, p.src[p.pos:])
	}
	return call, nil
}

type iparser struct {
	src string
	pos int
}

func (p *iparser) skipSpace() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *iparser) call() (*intrinsic, error) {
	p.skipSpace()
	open := strings.IndexByte(p.src[p.pos:], '(')
	if open < 0 {
		return nil, fmt.Errorf("missing '('")
	}
	name := strings.TrimSpace(p.src[p.pos : p.pos+open])
	fn, ok := intrinsics[name]
	if !ok {
		if name == "States.MathRandom" {
			return nil, fmt.Errorf("%s is not supported by the embedded runner (it must be deterministic)", name)
		}
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.pos += open + 1
	c := &intrinsic{name: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			a, err := p.arg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("missing ')'")
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, fmt.Errorf("expected ',' or ')' at %q", p.src[p.pos:])
			}
			p.pos++
		}
	}
	if len(c.args) < fn.min || (fn.max >= 0 && len(c.args) > fn.max) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arity(fn), len(c.args))
	}
	return c, nil
}

func arity(fn intrinsicFunc) string {
	switch {
	case fn.max < 0:
		return fmt.Sprintf("at least %d arguments", fn.min)
	case fn.min == fn.max:
		return fmt.Sprintf("%d arguments", fn.min)
	}
	return fmt.Sprintf("%d to %d arguments", fn.min, fn.max)
}

func (p *iparser) arg() (iarg, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return iarg{}, fmt.Errorf("missing argument")
	}
	rest := p.src[p.pos:]
	switch {
	case rest[0] == '\'':
		var val, raw strings.Builder
		i := 1
		for ; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' && i+1 < len(rest) {
				raw.WriteByte(c)
				raw.WriteByte(rest[i+1])
				val.WriteByte(rest[i+1])
				i++
				continue
			}
			if c == '\'' {
				break
			}
			raw.WriteByte(c)
			val.WriteByte(c)
		}
		if i >= len(rest) {
			return iarg{}, fmt.Errorf("unterminated string literal")
		}
		p.pos += i + 1
		return iarg{kind: argLiteral, lit: val.String(), raw: raw.String()}, nil
	case rest[0] == '$':
		end := scanPathEnd(rest)
		path, err := parsePath(strings.TrimSpace(rest[:end]), false)
		if err != nil {
			return iarg{}, err
		}
		p.pos += end
		return iarg{kind: argPath, path: path}, nil
	case strings.HasPrefix(rest, "States."):
		c, err := p.call()
		if err != nil {
			return iarg{}, err
		}
		return iarg{kind: argCall, call: c}, nil
	}
	end := strings.IndexAny(rest, ",)")
	if end < 0 {
		end = len(rest)
	}
	tok := strings.TrimSpace(rest[:end])
	v, err := decodeValue([]byte(tok))
	if err != nil || !(v == nil || isNumber(v) || isBool(v)) {
		return iarg{}, fmt.Errorf("invalid argument %q", tok)
	}
	p.pos += end
	return iarg{kind: argLiteral, lit: v}, nil
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

// scanPathEnd finds where a path argument ends: at a ',' or ')' outside brackets.
func scanPathEnd(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			if depth > 0 {
				quote = c
			}
		case c == '[':
			depth++
		case c == ']':
			depth--
		case (c == ',' || c == ')') && depth == 0:
			return i
		}
	}
	return len(s)
}

// eval runs the call against input and the context object.
func (c *intrinsic) eval(input, ctxObj any, env *evalEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch a.kind {
		case argLiteral:
			args[i] = a.lit
		case argPath:
			v, ok := a.path.get(input, ctxObj)
			if !ok {
				return nil, fmt.Errorf("%s: the JSONPath %q could not be found in the input", c.name, a.path.raw)
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(input, ctxObj, env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	v, err := c.fn.call(args, c.args, env)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", c.name, err)
	}
	return v, nil
}

func wantString(args []any, i int) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("argument %d must be a string, got %s", i+1, typeName(args[i]))
	}
	return s, nil
}

func wantArray(args []any, i int) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, fmt.Errorf("argument %d must be an array, got %s", i+1, typeName(args[i]))
	}
	return a, nil
}

func wantInt(args []any, i int) (int64, error) {
	n, ok := toInt(args[i])
	if !ok {
		return 0, fmt.Errorf("argument %d must be an integer, got %s", i+1, jsonText(args[i]))
	}
	return n, nil
}

func fnFormat(args []any, raw []iarg, _ *evalEnv) (any, error) {
	tmpl, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	escaped := false
	if raw[0].kind == argLiteral {
		tmpl, escaped = raw[0].raw, true
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if escaped && c == '\\' && i+1 < len(tmpl) {
			b.WriteByte(tmpl[i+1])
			i++
			continue
		}
		if c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}' {
			if next >= len(args) {
				return nil, fmt.Errorf("the template has more placeholders than arguments")
			}
			b.WriteString(formatArg(args[next]))
			next++
			i++
			continue
		}
		b.WriteByte(c)
	}
	if next != len(args) {
		return nil, fmt.Errorf("the template has %d placeholders but %d arguments were given", next-1, len(args)-1)
	}
	return b.String(), nil
}

func formatArg(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	if n, ok := v.(fmt.Stringer); ok && isNumber(v) {
		return n.String()
	}
	return string(mustEncode(v))
}

func fnStringToJSON(args []any, _ []iarg, _ *evalEnv) (any, error) {
	s, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	v, err := decodeValue([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("argument is not valid JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(args []any, _ []iarg, _ *evalEnv) (any, error) {
	return string(mustEncode(args[0])), nil
}

func fnArray(args []any, _ []iarg, _ *evalEnv) (any, error) {
	return append([]any{}, args...), nil
}

func fnArrayPartition(args []any, _ []iarg, _ *evalEnv) (any, error) {
	arr, err := wantArray(args, 0)
	if err != nil {
		return nil, err
	}
	size, err := wantInt(args, 1)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("the chunk size must be a positive integer")
	}
	out := []any{}
	for i := 0; i < len(arr); i += int(size) {
		end := min(i+int(size), len(arr))
		out = append(out, append([]any{}, arr[i:end]...))
	}
	return out, nil
}

func fnArrayContains(args []any, _ []iarg, _ *evalEnv) (any, error) {
	arr, err := wantArray(args, 0)
	if err != nil {
		return nil, err
	}
	for _, v := range arr {
		if equalValues(v, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(args []any, _ []iarg, _ *evalEnv) (any, error) {
	var n [3]int64
	for i := range n {
		v, err := wantInt(args, i)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, stepBy := n[0], n[1], n[2]
	if stepBy == 0 {
		return nil, fmt.Errorf("the step must not be 0")
	}
	out := []any{}
	for v := start; (stepBy > 0 && v <= end) || (stepBy < 0 && v >= end); v += stepBy {
		if len(out) == 1000 {
			return nil, fmt.Errorf("the range has more than 1000 items")
		}
		out = append(out, number(v))
	}
	return out, nil
}

func fnArrayGetItem(args []any, _ []iarg, _ *evalEnv) (any, error) {
	arr, err := wantArray(args, 0)
	if err != nil {
		return nil, err
	}
	i, err := wantInt(args, 1)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fmt.Errorf("index %d is out of range", i)
	}
	return arr[i], nil
}

func fnArrayLength(args []any, _ []iarg, _ *evalEnv) (any, error) {
	arr, err := wantArray(args, 0)
	if err != nil {
		return nil, err
	}
	return number(int64(len(arr))), nil
}

func fnArrayUnique(args []any, _ []iarg, _ *evalEnv) (any, error) {
	arr, err := wantArray(args, 0)
	if err != nil {
		return nil, err
	}
	out := []any{}
next:
	for _, v := range arr {
		for _, seen := range out {
			if equalValues(v, seen) {
				continue next
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func fnBase64Encode(args []any, _ []iarg, _ *evalEnv) (any, error) {
	s, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(args []any, _ []iarg, _ *evalEnv) (any, error) {
	s, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("argument is not valid base64")
	}
	return string(b), nil
}

func fnHash(args []any, _ []iarg, _ *evalEnv) (any, error) {
	data, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	alg, err := wantString(args, 1)
	if err != nil {
		return nil, err
	}
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("unknown algorithm %q (want MD5, SHA-1, SHA-256, SHA-384 or SHA-512)", alg)
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(args []any, _ []iarg, _ *evalEnv) (any, error) {
	a, ok1 := args[0].(map[string]any)
	b, ok2 := args[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("the first two arguments must be objects")
	}
	if deep, ok := args[2].(bool); !ok || deep {
		return nil, fmt.Errorf("only shallow merges (false) are supported")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func fnMathAdd(args []any, _ []iarg, _ *evalEnv) (any, error) {
	a, err := wantInt(args, 0)
	if err != nil {
		return nil, err
	}
	b, err := wantInt(args, 1)
	if err != nil {
		return nil, err
	}
	return number(a + b), nil
}

func fnStringSplit(args []any, _ []iarg, _ *evalEnv) (any, error) {
	s, err := wantString(args, 0)
	if err != nil {
		return nil, err
	}
	seps, err := wantString(args, 1)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		out = append(out, part)
	}
	return out, nil
}

func fnUUID(_ []any, _ []iarg, env *evalEnv) (any, error) {
	return env.newUUID(), nil
}
