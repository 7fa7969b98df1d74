package asl

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpGt
	cmpLe
	cmpGe
)

type operandKind int

const (
	kindString operandKind = iota
	kindNumeric
	kindBoolean
	kindTimestamp
	kindMatches
	kindIsNull
	kindIsPresent
	kindIsNumeric
	kindIsString
	kindIsBoolean
	kindIsTimestamp
)

type opSpec struct {
	kind operandKind
	cmp  cmpOp
	path bool // the operand is a path to compare with
}

// comparisonOps maps every data-test operator to how it compares.
var comparisonOps = func() map[string]opSpec {
	m := map[string]opSpec{
		"StringMatches": {kind: kindMatches},
		"IsNull":        {kind: kindIsNull},
		"IsPresent":     {kind: kindIsPresent},
		"IsNumeric":     {kind: kindIsNumeric},
		"IsString":      {kind: kindIsString},
		"IsBoolean":     {kind: kindIsBoolean},
		"IsTimestamp":   {kind: kindIsTimestamp},
	}
	cmps := map[string]cmpOp{"Equals": cmpEq, "LessThan": cmpLt, "GreaterThan": cmpGt, "LessThanEquals": cmpLe, "GreaterThanEquals": cmpGe}
	kinds := map[string]operandKind{"String": kindString, "Numeric": kindNumeric, "Timestamp": kindTimestamp}
	for kn, k := range kinds {
		for cn, c := range cmps {
			m[kn+cn] = opSpec{kind: k, cmp: c}
			m[kn+cn+"Path"] = opSpec{kind: k, cmp: c, path: true}
		}
	}
	m["BooleanEquals"] = opSpec{kind: kindBoolean}
	m["BooleanEqualsPath"] = opSpec{kind: kindBoolean, path: true}
	return m
}()

// choiceRule is a compiled Choices entry or nested rule.
type choiceRule struct {
	and, or []*choiceRule
	not     *choiceRule

	variable *jpath
	opName   string
	op       opSpec
	operand  any // literal operand (typed per op.kind)
	ts       time.Time
	opPath   *jpath // op.path operators

	next string // top-level rules only
}

// parseChoiceRule compiles one rule; field names the rule for error messages.
func parseChoiceRule(raw any, top bool, field string) (*choiceRule, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object", field)
	}
	r := &choiceRule{}
	if next, ok := m["Next"]; ok {
		if !top {
			return nil, fmt.Errorf("%s: Next is only allowed on top-level choice rules", field)
		}
		s, ok := next.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%s: Next must be a state name", field)
		}
		r.next = s
	} else if top {
		return nil, fmt.Errorf("%s: missing Next", field)
	}
	var ops []string
	for k := range m {
		switch k {
		case "Next", "Variable", "Comment":
		default:
			ops = append(ops, k)
		}
	}
	sort.Strings(ops)
	if len(ops) != 1 {
		return nil, fmt.Errorf("%s must have exactly one operator (And, Or, Not or a comparison), has %v", field, ops)
	}
	name := ops[0]
	switch name {
	case "And", "Or":
		if _, ok := m["Variable"]; ok {
			return nil, fmt.Errorf("%s: Variable is not allowed with %s", field, name)
		}
		list, ok := m[name].([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("%s.%s must be a non-empty array of rules", field, name)
		}
		for i, sub := range list {
			c, err := parseChoiceRule(sub, false, fmt.Sprintf("%s.%s[%d]", field, name, i))
			if err != nil {
				return nil, err
			}
			if name == "And" {
				r.and = append(r.and, c)
			} else {
				r.or = append(r.or, c)
			}
		}
		return r, nil
	case "Not":
		if _, ok := m["Variable"]; ok {
			return nil, fmt.Errorf("%s: Variable is not allowed with Not", field)
		}
		c, err := parseChoiceRule(m["Not"], false, field+".Not")
		if err != nil {
			return nil, err
		}
		r.not = c
		return r, nil
	}
	spec, ok := comparisonOps[name]
	if !ok {
		return nil, fmt.Errorf("%s: unknown field or operator %q", field, name)
	}
	vs, ok := m["Variable"].(string)
	if !ok {
		return nil, fmt.Errorf("%s: missing Variable", field)
	}
	v, err := parsePath(vs, false)
	if err != nil {
		return nil, fmt.Errorf("%s.Variable: %v", field, err)
	}
	r.variable, r.opName, r.op = v, name, spec
	val := m[name]
	if spec.path {
		s, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("%s.%s must be a path", field, name)
		}
		if r.opPath, err = parsePath(s, false); err != nil {
			return nil, fmt.Errorf("%s.%s: %v", field, name, err)
		}
		return r, nil
	}
	switch spec.kind {
	case kindString, kindMatches:
		if _, ok := val.(string); !ok {
			return nil, fmt.Errorf("%s.%s must be a string", field, name)
		}
	case kindNumeric:
		if !isNumber(val) {
			return nil, fmt.Errorf("%s.%s must be a number", field, name)
		}
	case kindTimestamp:
		s, ok := val.(string)
		t, tok := parseTimestamp(s)
		if !ok || !tok {
			return nil, fmt.Errorf("%s.%s must be an RFC 3339 timestamp", field, name)
		}
		r.ts = t
	default: // BooleanEquals and the Is* type tests
		if _, ok := val.(bool); !ok {
			return nil, fmt.Errorf("%s.%s must be true or false", field, name)
		}
	}
	r.operand = val
	return r, nil
}

// parseTimestamp parses the RFC 3339 profile Step Functions accepts
// (an uppercase T separator and a time zone are required).
func parseTimestamp(s string) (time.Time, bool) {
	if !strings.Contains(s, "T") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// eval tests the rule against the (effective) state input.
func (r *choiceRule) eval(input, ctxObj any) (bool, error) {
	switch {
	case r.and != nil:
		for _, c := range r.and {
			ok, err := c.eval(input, ctxObj)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, c := range r.or {
			ok, err := c.eval(input, ctxObj)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input, ctxObj)
		return !ok, err
	}
	v, found := r.variable.get(input, ctxObj)
	if r.op.kind == kindIsPresent {
		return found == r.operand.(bool), nil
	}
	if !found {
		return false, runtimeErrorf("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.raw)
	}
	operand := r.operand
	ts := r.ts
	if r.opPath != nil {
		o, ok := r.opPath.get(input, ctxObj)
		if !ok {
			return false, runtimeErrorf("Invalid path '%s': The choice state's condition path references an invalid value.", r.opPath.raw)
		}
		operand = o
		if r.op.kind == kindTimestamp {
			s, _ := o.(string)
			t, ok := parseTimestamp(s)
			if !ok {
				return false, runtimeErrorf("Invalid path '%s': the value %s is not a timestamp", r.opPath.raw, jsonText(o))
			}
			ts = t
		}
	}
	switch r.op.kind {
	case kindString:
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && compare(strings.Compare(a, b), r.op.cmp), nil
	case kindNumeric:
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(operand)
		if !ok1 || !ok2 {
			return false, nil
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return compare(c, r.op.cmp), nil
	case kindBoolean:
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	case kindTimestamp:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		t, ok := parseTimestamp(s)
		return ok && compare(t.Compare(ts), r.op.cmp), nil
	case kindMatches:
		s, ok := v.(string)
		return ok && wildcardMatch(operand.(string), s), nil
	case kindIsNull:
		return (v == nil) == operand.(bool), nil
	case kindIsNumeric:
		return isNumber(v) == operand.(bool), nil
	case kindIsString:
		_, ok := v.(string)
		return ok == operand.(bool), nil
	case kindIsBoolean:
		_, ok := v.(bool)
		return ok == operand.(bool), nil
	case kindIsTimestamp:
		s, ok := v.(string)
		if ok {
			_, ok = parseTimestamp(s)
		}
		return ok == operand.(bool), nil
	}
	return false, nil
}

func compare(c int, op cmpOp) bool {
	switch op {
	case cmpEq:
		return c == 0
	case cmpLt:
		return c < 0
	case cmpGt:
		return c > 0
	case cmpLe:
		return c <= 0
	}
	return c >= 0
}

// wildcardMatch implements StringMatches: '*' matches any run of characters,
// "\*" a literal star and "\\" a literal backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		lit  string
	}
	var toks []tok
	var lit strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			lit.WriteByte(pattern[i+1])
			i++
		case c == '*':
			if lit.Len() > 0 {
				toks = append(toks, tok{lit: lit.String()})
				lit.Reset()
			}
			toks = append(toks, tok{star: true})
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		toks = append(toks, tok{lit: lit.String()})
	}
	var match func(ti int, rest string) bool
	match = func(ti int, rest string) bool {
		if ti == len(toks) {
			return rest == ""
		}
		t := toks[ti]
		if !t.star {
			return strings.HasPrefix(rest, t.lit) && match(ti+1, rest[len(t.lit):])
		}
		for i := 0; i <= len(rest); i++ {
			if match(ti+1, rest[i:]) {
				return true
			}
		}
		return false
	}
	return match(0, s)
}
