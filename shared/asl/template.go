package asl

import (
	"fmt"
	"strings"
)

// A payloadTemplate is a compiled Parameters or ResultSelector value: a JSON
// value whose object fields named "key.$" are replaced by the value of a path
// (into the input, or "$$." into the context object) or of an intrinsic call.
type payloadTemplate struct {
	constant bool
	value    any // constant templates
	fields   []templateField
	items    []*payloadTemplate
	isArray  bool
}

type templateField struct {
	key  string // output key (without ".$")
	src  string // the original "key.$" for messages
	path *jpath
	call *intrinsic
	sub  *payloadTemplate
}

func compileTemplate(v any) (*payloadTemplate, error) {
	switch x := v.(type) {
	case map[string]any:
		t := &payloadTemplate{}
		dynamic := false
		seen := map[string]string{}
		for _, k := range sortedKeys(x) {
			f := templateField{key: k, src: k}
			if strings.HasSuffix(k, ".$") {
				f.key = strings.TrimSuffix(k, ".$")
				s, ok := x[k].(string)
				if !ok {
					return nil, fmt.Errorf("field %q must be a string path or intrinsic function", k)
				}
				var err error
				if isIntrinsic(s) {
					f.call, err = parseIntrinsic(s)
				} else {
					f.path, err = parsePath(s, false)
				}
				if err != nil {
					return nil, fmt.Errorf("field %q: %v", k, err)
				}
				dynamic = true
			} else {
				sub, err := compileTemplate(x[k])
				if err != nil {
					return nil, err
				}
				f.sub = sub
				dynamic = dynamic || !sub.constant
			}
			if other, dup := seen[f.key]; dup {
				return nil, fmt.Errorf("fields %q and %q both produce %q", other, k, f.key)
			}
			seen[f.key] = k
			t.fields = append(t.fields, f)
		}
		if !dynamic {
			return &payloadTemplate{constant: true, value: v}, nil
		}
		return t, nil
	case []any:
		t := &payloadTemplate{isArray: true}
		dynamic := false
		for _, item := range x {
			sub, err := compileTemplate(item)
			if err != nil {
				return nil, err
			}
			t.items = append(t.items, sub)
			dynamic = dynamic || !sub.constant
		}
		if !dynamic {
			return &payloadTemplate{constant: true, value: v}, nil
		}
		return t, nil
	}
	return &payloadTemplate{constant: true, value: v}, nil
}

// eval builds the payload from input and the context object.
func (t *payloadTemplate) eval(input, ctxObj any, env *evalEnv) (any, error) {
	if t.constant {
		return t.value, nil
	}
	if t.isArray {
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(input, ctxObj, env)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		switch {
		case f.sub != nil:
			v, err := f.sub.eval(input, ctxObj, env)
			if err != nil {
				return nil, err
			}
			out[f.key] = v
		case f.path != nil:
			v, ok := f.path.get(input, ctxObj)
			if !ok {
				where := "input"
				doc := input
				if f.path.context {
					where, doc = "context object", ctxObj
				}
				return nil, runtimeErrorf("The JSONPath '%s' specified for the field '%s' could not be found in the %s '%s'",
					f.path.raw, f.src, where, jsonText(doc))
			}
			out[f.key] = v
		default:
			v, err := f.call.eval(input, ctxObj, env)
			if err != nil {
				return nil, runtimeErrorf("The value of the field '%s' could not be computed: %v", f.src, err)
			}
			out[f.key] = v
		}
	}
	return out, nil
}
