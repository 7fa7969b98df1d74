package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Templates are plain text with references {{form.x}}, {{vars.x}},
// {{contact.x}} and {{trigger.x}}. A reference to a missing value renders
// as the empty string.

var templateNamespaces = []string{"form", "vars", "contact", "trigger"}

type templateRef struct {
	ns, name string
}

// scanTemplate calls ref for each well-formed reference and lit for the text
// between them. It reports the first malformed reference as an error but
// keeps scanning, treating it as literal text.
func scanTemplate(s string, lit func(string), ref func(templateRef, string)) error {
	var firstErr error
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			lit(s)
			return firstErr
		}
		lit(s[:i])
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			lit(s[i:])
			if firstErr == nil {
				firstErr = fmt.Errorf("unclosed {{ at offset %d", i)
			}
			return firstErr
		}
		raw := s[i : i+2+j+2]
		inner := strings.TrimSpace(s[i+2 : i+2+j])
		ns, name, ok := strings.Cut(inner, ".")
		if ok && contains(templateNamespaces, ns) && identRe.MatchString(name) {
			ref(templateRef{ns, name}, raw)
		} else {
			lit(raw)
			if firstErr == nil {
				firstErr = fmt.Errorf("unknown reference %s: use {{form.<field>}}, {{vars.<name>}}, {{contact.<field>}} or {{trigger.<field>}}", raw)
			}
		}
		s = s[i+2+j+2:]
	}
}

// templateRefs lists a template's references.
func templateRefs(s string) ([]templateRef, error) {
	var refs []templateRef
	err := scanTemplate(s, func(string) {}, func(r templateRef, _ string) { refs = append(refs, r) })
	return refs, err
}

// Render fills a template from an execution state (the "state" of a task
// payload): form.x from $.form, vars.x from $.vars, trigger.x from
// $.trigger, contact.x from $.contact or else from the last snapshot
// ($.ctx.data.contact, custom fields under "fields"); {{contact.name}} falls
// back to the phone number, like the contact's display name. Missing values
// and malformed references render as "" and as literal text.
func Render(template string, state json.RawMessage) string {
	return render(template, state, nil)
}

// RenderContact is Render with contact.x read from c (live data the engine
// holds) instead of the state; {{contact.name}} is c.DisplayName().
func RenderContact(template string, state json.RawMessage, c routing.Contact) string {
	return render(template, state, &c)
}

func render(template string, state json.RawMessage, c *routing.Contact) string {
	if !strings.Contains(template, "{{") {
		return template
	}
	var st map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(state))
	dec.UseNumber()
	_ = dec.Decode(&st) // a bad state renders every reference empty
	var b strings.Builder
	_ = scanTemplate(template, func(s string) { b.WriteString(s) }, func(r templateRef, _ string) {
		b.WriteString(lookupRef(st, r, c))
	})
	return b.String()
}

func lookupRef(st map[string]json.RawMessage, r templateRef, c *routing.Contact) string {
	switch r.ns {
	case "form", "vars", "trigger":
		return scalarText(objectField(st[r.ns], r.name))
	case "contact":
		if c != nil {
			if r.name == "name" {
				return c.DisplayName()
			}
			v, _ := c.Field(r.name)
			return v
		}
		contact := st["contact"]
		if contact == nil {
			contact = objectField(objectField(st["ctx"], "data"), "contact")
		}
		if v := scalarText(objectField(contact, r.name)); v != "" {
			return v
		}
		if r.name == "name" { // like the contact's display name: the phone until a name is set
			return scalarText(objectField(contact, "phone"))
		}
		return scalarText(objectField(objectField(contact, "fields"), r.name))
	}
	return ""
}

// objectField returns a field of a JSON object, or nil.
func objectField(obj json.RawMessage, name string) json.RawMessage {
	if len(obj) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil
	}
	return m[name]
}

// scalarText renders a JSON scalar as text: strings unquoted, numbers and
// booleans as written; null, objects, arrays and absence as "".
func scalarText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s
		}
		return ""
	case '{', '[', 'n':
		return ""
	case 't', 'f':
		return string(v)
	}
	if _, err := strconv.ParseFloat(string(v), 64); err == nil {
		return string(v)
	}
	return ""
}
