package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// segKind is the kind of one step of a path.
type segKind int

const (
	segField    segKind = iota // .name or ['name']
	segIndex                   // [3] (negative counts from the end)
	segWildcard                // .* or [*]
)

type pathSeg struct {
	kind  segKind
	name  string
	index int
}

// jpath is a compiled JSONPath of the subset Step Functions' reference paths
// use: $, $.a.b, $['a'], $.a[0], plus the [*] and .* wildcards where a full
// path is allowed. A path starting with $$ reads the context object.
type jpath struct {
	raw      string
	context  bool
	segs     []pathSeg
	definite bool // no wildcard: selects at most one value
}

func (p *jpath) String() string { return p.raw }

// parsePath compiles a path. reference restricts it to reference paths (no
// wildcards, no context object), as ResultPath requires.
func parsePath(s string, reference bool) (*jpath, error) {
	p := &jpath{raw: s, definite: true}
	rest := s
	switch {
	case strings.HasPrefix(rest, "$$"):
		if reference {
			return nil, fmt.Errorf("path %q may not read the context object", s)
		}
		p.context = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "$"):
		rest = rest[1:]
	default:
		return nil, fmt.Errorf("path %q must start with '$'", s)
	}
	for len(rest) > 0 {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			if strings.HasPrefix(rest, ".") {
				return nil, fmt.Errorf("path %q: recursive descent '..' is not supported", s)
			}
			if strings.HasPrefix(rest, "*") {
				p.segs = append(p.segs, pathSeg{kind: segWildcard})
				p.definite = false
				rest = rest[1:]
				continue
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return nil, fmt.Errorf("path %q: empty field name", s)
			}
			if strings.ContainsAny(name, "]'\" ()?@,:") {
				return nil, fmt.Errorf("path %q: invalid field name %q", s, name)
			}
			p.segs = append(p.segs, pathSeg{kind: segField, name: name})
			rest = rest[end:]
		case '[':
			rest = rest[1:]
			switch {
			case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, `"`):
				q := rest[0]
				end := strings.IndexByte(rest[1:], q)
				if end < 0 || !strings.HasPrefix(rest[end+2:], "]") {
					return nil, fmt.Errorf("path %q: unterminated bracket name", s)
				}
				p.segs = append(p.segs, pathSeg{kind: segField, name: rest[1 : end+1]})
				rest = rest[end+3:]
			case strings.HasPrefix(rest, "*]"):
				p.segs = append(p.segs, pathSeg{kind: segWildcard})
				p.definite = false
				rest = rest[2:]
			default:
				end := strings.IndexByte(rest, ']')
				if end < 0 {
					return nil, fmt.Errorf("path %q: missing ']'", s)
				}
				n, err := strconv.Atoi(rest[:end])
				if err != nil {
					return nil, fmt.Errorf("path %q: unsupported bracket expression [%s]", s, rest[:end])
				}
				p.segs = append(p.segs, pathSeg{kind: segIndex, index: n})
				rest = rest[end+1:]
			}
		default:
			return nil, fmt.Errorf("path %q: unexpected %q", s, rest[:1])
		}
	}
	if reference && !p.definite {
		return nil, fmt.Errorf("path %q must be a reference path (no wildcards)", s)
	}
	return p, nil
}

// get evaluates the path against input (or the context object for $$ paths).
// For a definite path ok is false when nothing is selected; an indefinite
// path always selects an array of its matches.
func (p *jpath) get(input, contextObj any) (any, bool) {
	root := input
	if p.context {
		root = contextObj
	}
	if p.definite {
		cur := root
		for _, s := range p.segs {
			next, ok := step(cur, s)
			if !ok {
				return nil, false
			}
			cur = next
		}
		return cur, true
	}
	matches := []any{root}
	for _, s := range p.segs {
		var next []any
		for _, m := range matches {
			if s.kind == segWildcard {
				switch c := m.(type) {
				case []any:
					next = append(next, c...)
				case map[string]any:
					for _, k := range sortedKeys(c) {
						next = append(next, c[k])
					}
				}
				continue
			}
			if v, ok := step(m, s); ok {
				next = append(next, v)
			}
		}
		matches = next
	}
	if matches == nil {
		matches = []any{}
	}
	return matches, true
}

func step(cur any, s pathSeg) (any, bool) {
	switch s.kind {
	case segField:
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := obj[s.name]
		return v, ok
	case segIndex:
		arr, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		i := s.index
		if i < 0 {
			i += len(arr)
		}
		if i < 0 || i >= len(arr) {
			return nil, false
		}
		return arr[i], true
	}
	return nil, false
}

// set returns a copy of doc with value placed at the reference path p,
// creating intermediate objects as needed (ResultPath semantics). Only the
// containers along the path are copied.
func (p *jpath) set(doc, value any) (any, error) {
	return setAt(doc, p.segs, value, p.raw, true)
}

func setAt(cur any, segs []pathSeg, value any, raw string, top bool) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0]
	switch s.kind {
	case segField:
		var obj map[string]any
		switch c := cur.(type) {
		case map[string]any:
			obj = make(map[string]any, len(c)+1)
			for k, v := range c {
				obj[k] = v
			}
		case nil:
			if top {
				return nil, fmt.Errorf("cannot set field %q of null", s.name)
			}
			obj = map[string]any{}
		default:
			return nil, fmt.Errorf("cannot set field %q of a %s", s.name, typeName(cur))
		}
		child, err := setAt(obj[s.name], segs[1:], value, raw, false)
		if err != nil {
			return nil, err
		}
		obj[s.name] = child
		return obj, nil
	case segIndex:
		arr, ok := cur.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot index a %s", typeName(cur))
		}
		i := s.index
		if i < 0 {
			i += len(arr)
		}
		if i < 0 || i >= len(arr) {
			return nil, fmt.Errorf("index %d is out of range", s.index)
		}
		out := append([]any(nil), arr...)
		child, err := setAt(out[i], segs[1:], value, raw, false)
		if err != nil {
			return nil, err
		}
		out[i] = child
		return out, nil
	}
	return nil, fmt.Errorf("path %q is not a reference path", raw)
}
