package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// MaxDefinitionBytes bounds the size of a definition Parse accepts.
const MaxDefinitionBytes = 1 << 20

// Parse reads a definition written in JSON (the text starts with '{') or
// YAML (anything else). Unknown fields, duplicate keys and values of the
// wrong type are errors. The error is a *ValidationError whose entries name
// the step and the field. Parse does not validate the workflow's meaning:
// call Validate for that.
func Parse(data []byte) (*Definition, error) {
	if len(data) > MaxDefinitionBytes {
		return nil, fieldErrs(FieldError{Message: fmt.Sprintf("definition is larger than %d bytes", MaxDefinitionBytes)})
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fieldErrs(FieldError{Message: "definition is empty"})
	}
	var tree any
	var err error
	if trimmed[0] == '{' {
		tree, err = decodeJSONTree(trimmed)
		if err != nil {
			return nil, fieldErrs(FieldError{Message: "invalid JSON: " + err.Error()})
		}
	} else {
		tree, err = decodeYAMLTree(data)
		if err != nil {
			return nil, fieldErrs(FieldError{Message: "invalid YAML: " + err.Error()})
		}
	}
	w := walker{}
	w.walk(tree, reflect.TypeOf(Definition{}), loc{})
	if len(w.errs) > 0 {
		return nil, &ValidationError{Errors: w.errs}
	}
	// The tree now has exactly the shape of Definition: re-encode and decode.
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, fieldErrs(FieldError{Message: "invalid definition: " + err.Error()})
	}
	var def Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return nil, fieldErrs(FieldError{Message: "invalid definition: " + err.Error()})
	}
	return &def, nil
}

// decodeJSONTree decodes JSON into maps, slices and scalars (numbers as
// json.Number), rejecting duplicate keys and trailing data.
func decodeJSONTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level object")
	}
	return v, nil
}

const maxDepth = 64

func jsonValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("duplicate key %q", k)
				}
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			s := []any{}
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				s = append(s, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return s, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, json.Number, bool, nil
	}
}

// decodeYAMLTree decodes one YAML document into maps, slices and scalars,
// rejecting duplicate keys, non-string keys and multiple documents.
func decodeYAMLTree(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, errors.New("no document")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, errors.New("only one YAML document is allowed")
	}
	budget := maxYAMLNodes
	return yamlValue(&doc, 0, &budget)
}

// maxYAMLNodes bounds the nodes visited, so aliases cannot expand a small
// document into a huge one.
const maxYAMLNodes = 100000

func yamlValue(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nesting too deep")
	}
	if *budget--; *budget < 0 {
		return nil, errors.New("document too large once aliases are expanded")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, errors.New("empty document")
		}
		return yamlValue(n.Content[0], depth+1, budget)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1, budget)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be plain strings", kn.Line)
			}
			if kn.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: merge keys (<<) are not supported", kn.Line)
			}
			if _, dup := m[kn.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", kn.Line, kn.Value)
			}
			v, err := yamlValue(vn, depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[kn.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %v", n.Line, err)
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, fmt.Errorf("line %d: %v", n.Line, err)
			}
			return json.Number(strconv.FormatInt(i, 10)), nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %v", n.Line, err)
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("line %d: %s is not a finite number", n.Line, n.Value)
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		default: // !!str, !!timestamp, !!binary...: keep the text
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// loc is where a value sits: the step (by id) and the field path inside it,
// or the path from the top when outside a step.
type loc struct {
	step  string
	field string
}

func (l loc) key(k string) loc {
	if l.field == "" {
		return loc{l.step, k}
	}
	return loc{l.step, l.field + "." + k}
}

func (l loc) index(i int) loc { return loc{l.step, fmt.Sprintf("%s[%d]", l.field, i)} }

var (
	durationType = reflect.TypeOf(Duration(""))
	valueType    = reflect.TypeOf(Value(""))
	stepsField   = "steps"
)

// walker checks a decoded tree against a Go struct type: every key must be
// a field (by its json name) and every value must have the field's kind.
type walker struct{ errs []FieldError }

func (w *walker) fail(l loc, format string, args ...any) {
	w.errs = append(w.errs, FieldError{Step: l.step, Field: l.field, Message: fmt.Sprintf(format, args...)})
}

func (w *walker) walk(v any, t reflect.Type, l loc) {
	if v == nil {
		return // null is the same as leaving the field out
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		switch x := v.(type) {
		case string:
		case json.Number:
			if !isDigits(x.String()) {
				w.fail(l, "a duration is a string like \"15m\" or a whole number of seconds")
			}
		default:
			w.fail(l, "a duration is a string like \"15m\" or a whole number of seconds, not %s", kindName(v))
		}
		return
	case valueType:
		switch v.(type) {
		case string, json.Number, bool:
		default:
			w.fail(l, "a value is a string, a number or a boolean, not %s", kindName(v))
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			w.fail(l, "must be a string, not %s", kindName(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.fail(l, "must be true or false, not %s", kindName(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			w.fail(l, "must be a whole number, not %s", kindName(v))
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, 32); err != nil {
			w.fail(l, "must be a whole number, not %s", n)
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			w.fail(l, "must be a list, not %s", kindName(v))
			return
		}
		for i, e := range s {
			el := l.index(i)
			if l.step == "" && l.field == stepsField {
				if m, ok := e.(map[string]any); ok {
					if id, ok := m["id"].(string); ok && id != "" {
						el = loc{step: id}
					}
				}
			}
			w.walk(e, t.Elem(), el)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			w.fail(l, "must be an object, not %s", kindName(v))
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				w.fail(l.key(k), "unknown field %q%s", k, suggest(k, fields))
				continue
			}
			w.walk(m[k], f.Type, l.key(k))
		}
	default:
		w.fail(l, "unsupported field type")
	}
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.StructField

// jsonFields maps json names to struct fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.StructField)
	}
	out := map[string]reflect.StructField{}
	defer fieldCache.Store(t, out)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

// suggest names a known field that differs from k only by case.
func suggest(k string, fields map[string]reflect.StructField) string {
	for name := range fields {
		if strings.EqualFold(name, k) || strings.EqualFold(strings.ReplaceAll(name, "_", ""), strings.ReplaceAll(k, "_", "")) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}

func kindName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "null"
}
