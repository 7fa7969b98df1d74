package httpapi

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

type patchBody struct {
	Inner
	Version int64 `json:"version"`
}

type Inner struct {
	Max    *int              `json:"maxConcurrent"`
	Fields map[string]string `json:"fields"`
	Teams  []string          `json:"teams"`
	Steps  []struct {
		Options []struct {
			Label string `json:"label"`
		} `json:"options"`
	} `json:"steps"`
}

// Decode names the offending field by the JSON path the client sent: never a
// Go type name, and the same for invalid UTF-8 (which encoding/json would
// silently replace with U+FFFD).
func TestDecodeNamesTheJSONPath(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"maxConcurrent":"two"}`, "maxConcurrent"},
		{`{"version":1,"maxConcurrent":{"a":1}}`, "maxConcurrent"},
		{`{"maxConcurrent":[1,2]}`, "maxConcurrent"},
		{`{"fields":{"vip":3}}`, "fields.vip"},
		{`{"teams":["a",4]}`, "teams[1]"},
		{`{"version":"1"}`, "version"},
		{`[1]`, "body"},
		{"{\"teams\":[\"a\",\"b\xff\"]}", "teams[1]"},
		{"{\"fields\":{\"a\":\"x\",\"city\":\"M\xe1laga\"}}", "fields.city"},
		{"{\"steps\":[{\"options\":[]},{\"options\":[{\"label\":\"ok\"},{\"label\":\"\xc3\"}]}]}", "steps[1].options[1].label"},
		{"{\"fields\":{\"k\xff\":\"v\"}}", "fields"},
	} {
		r := httptest.NewRequest("PATCH", "/", strings.NewReader(tc.body))
		var dst patchBody
		err := Decode(httptest.NewRecorder(), r, &dst)
		var re *routing.Error
		if !errors.As(err, &re) || re.Code != routing.CodeInvalid || re.Field != tc.field {
			t.Errorf("%q: %v (field %q), want field %q", tc.body, err, fieldOf(re), tc.field)
		}
	}
	r := httptest.NewRequest("PATCH", "/", strings.NewReader(`{"fields":{"city":"Málaga"},"teams":["ü"]}`))
	var ok patchBody
	if err := Decode(httptest.NewRecorder(), r, &ok); err != nil || ok.Fields["city"] != "Málaga" {
		t.Fatalf("valid UTF-8 refused: %v %+v", err, ok)
	}
}

func fieldOf(e *routing.Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}
