package workflow

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(modroot.Must(t), "docs", "workflow.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return s
}

func path(m any, keys ...string) any {
	for _, k := range keys {
		m = m.(map[string]any)[k]
	}
	return m
}

func propNames(schema any) []string {
	var out []string
	for k := range path(schema, "properties").(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestSchemaInSyncWithGo keeps docs/workflow.schema.json and the Go
// definition in step: same step types with the same fields, same triggers,
// operators and escalation types.
func TestSchemaInSyncWithGo(t *testing.T) {
	s := loadSchema(t)
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	var stepTypes []string
	for _, alt := range path(s, "properties", "steps", "items", "oneOf").([]any) {
		typ := path(alt, "properties", "type", "const").(string)
		stepTypes = append(stepTypes, typ)
		want := append([]string{"id", "type", "name"}, stepFields[typ]...)
		sort.Strings(want)
		if got := propNames(alt); !slices.Equal(got, want) {
			t.Errorf("schema step %s has fields %v, Go accepts %v", typ, got, want)
		}
	}
	if !slices.Equal(stepTypes, StepTypes) {
		t.Errorf("schema step types %v, Go %v", stepTypes, StepTypes)
	}
	var triggers []string
	triggerFields := map[string]bool{}
	for _, alt := range path(s, "properties", "trigger", "oneOf").([]any) {
		triggers = append(triggers, path(alt, "properties", "type", "const").(string))
		for _, p := range propNames(alt) {
			triggerFields[p] = true
		}
	}
	if !slices.Equal(triggers, TriggerTypes) {
		t.Errorf("schema triggers %v, Go %v", triggers, TriggerTypes)
	}
	for name := range jsonFields(reflect.TypeOf(Trigger{})) {
		if !triggerFields[name] {
			t.Errorf("trigger field %s is missing from the schema", name)
		}
	}
	if got := strs(path(s, "$defs", "operator", "enum")); !slices.Equal(got, Operators) {
		t.Errorf("schema operators %v, Go %v", got, Operators)
	}
	var esc []string
	for _, e := range routing.EscalationTypes {
		esc = append(esc, string(e))
	}
	escSchema := path(s, "properties", "steps", "items", "oneOf").([]any)[slices.Index(StepTypes, StepEscalate)]
	if got := strs(path(escSchema, "properties", "escalationType", "enum")); !slices.Equal(got, esc) {
		t.Errorf("schema escalation types %v, Go %v", got, esc)
	}
	subjects := path(s, "$defs", "condition", "properties", "subject", "pattern").(string)
	for name := range conversationSubjects {
		if !strings.Contains(subjects, name) {
			t.Errorf("conversation.%s is missing from the schema's subject pattern", name)
		}
	}
}

// TestExamplesConformToSchema validates every example, and some invalid
// documents, against the schema with Ajv (draft 2020-12, strict mode).
func TestExamplesConformToSchema(t *testing.T) {
	root := modroot.Must(t)
	node, _ := localSFN(t)
	modules := filepath.Join(root, "tools", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "ajv", "dist", "2020.js")); err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("ajv is missing: run `make tools`")
		}
		t.Skip("ajv not installed; run `make tools`")
	}
	var docs []json.RawMessage
	var names []string
	for _, name := range sortedKeys(sources(t)) {
		canon, err := parseFile(t, sources(t)[name]).MarshalCanonical()
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, canon)
		names = append(names, name)
	}
	valid := len(docs)
	for _, bad := range []string{
		`{"id":"x","name":"X","trigger":{"type":"cron"},"steps":[{"id":"a","type":"close"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"a","type":"wait"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"a","type":"close","team":"t"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"a","type":"assign","agent":"a","team":"t"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"shortcut"},"steps":[{"id":"a","type":"close"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"b","type":"branch","else":"end","branches":[{"next":"end","conditions":[{"subject":"contact.x","operator":"exists","value":"y"}]}]}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"end","type":"close"}]}`,
		`{"id":"x","name":"X","trigger":{"type":"conversation_closed"},"steps":[{"id":"w","type":"wait","duration":"15 minutes"}]}`,
	} {
		docs = append(docs, json.RawMessage(bad))
		names = append(names, bad)
	}
	body, _ := json.Marshal(docs)
	cmd := exec.Command(node, filepath.Join("testdata", "schema-check.mjs"), modules, filepath.Join(root, "docs", "workflow.schema.json"))
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("schema check: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Valid  bool     `json:"valid"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(docs) {
		t.Fatalf("schema check output: %v %s", err, out)
	}
	for i, r := range results {
		if want := i < valid; r.Valid != want {
			t.Errorf("%s: schema valid = %v, want %v (%v)", names[i], r.Valid, want, r.Errors)
		}
	}
}
