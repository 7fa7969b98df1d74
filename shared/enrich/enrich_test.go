package enrich

import (
	"testing"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

func TestCountry(t *testing.T) {
	cases := map[string]string{
		"+34612345678":   "ES",
		"+5215512345678": "MX",
		"+5491123456789": "AR",
		"+393471234567":  "IT",
		"+5511987654321": "BR",
		"+351912345678":  "PT",
		"+14155551234":   "US",
		"+14165551234":   "CA", // Toronto shares +1 with the US
		"+447700900123":  "GB",
		"+33612345678":   "FR",
		"+4915112345678": "DE",
		"+80012345678":   "", // international freephone: no region
		"34612345678":    "", // not E.164
		"":               "",
		"+":              "",
		"garbage":        "",
	}
	for phone, want := range cases {
		if got := Country(phone); got != want {
			t.Errorf("Country(%q) = %q, want %q", phone, got, want)
		}
	}
}

func TestLanguage(t *testing.T) {
	cases := map[string]string{
		"es": "es", "es_LA": "es", "pt-br": "pt", "pt-BR": "pt", "EN": "en", "zh-Hant-TW": "zh",
		"fil": "fil", " it ": "it", "": "", "und": "", "e": "", "english": "", "e1": "", "_LA": "",
	}
	for loc, want := range cases {
		if got := Language(loc); got != want {
			t.Errorf("Language(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestDefaultLanguage(t *testing.T) {
	cases := map[string]string{"ES": "es", "MX": "es", "AR": "es", "IT": "it", "BR": "pt", "PT": "pt", "FR": "fr", "DE": "de",
		"US": "en", "GB": "en", "mx": "es", "CH": "", "BE": "", "": "", "ZZ": ""}
	for c, want := range cases {
		if got := DefaultLanguage(c); got != want {
			t.Errorf("DefaultLanguage(%q) = %q, want %q", c, got, want)
		}
	}
}

func TestContactFillsEmptyFields(t *testing.T) {
	cases := []struct {
		name string
		in   providers.Inbound
		want routing.Contact
	}{
		{"whatsapp: phone gives country and language",
			providers.Inbound{FromName: "Lucía", Phone: "+34612345678"},
			routing.Contact{Name: "Lucía", Phone: "+34612345678", Country: "ES", Language: "es"}},
		{"telegram: locale beats nothing, no phone no country",
			providers.Inbound{FromName: "Giulia Bianchi", Locale: "it"},
			routing.Contact{Name: "Giulia Bianchi", Language: "it"}},
		{"locale wins over the country default",
			providers.Inbound{Phone: "+14155551234", Locale: "es_LA"},
			routing.Contact{Phone: "+14155551234", Country: "US", Language: "es"}},
		{"unknown country default leaves language empty",
			providers.Inbound{Phone: "+41791234567"},
			routing.Contact{Phone: "+41791234567", Country: "CH"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got routing.Contact
			if !Contact(&got, c.in) {
				t.Error("reported no change")
			}
			if got.Name != c.want.Name || got.Phone != c.want.Phone || got.Country != c.want.Country || got.Language != c.want.Language {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestContactKeepsExistingValues(t *testing.T) {
	c := routing.Contact{Name: "Lucy (VIP)", Language: "en", Country: "GB"}
	in := providers.Inbound{FromName: "Lucía", Phone: "+34612345678", Locale: "es"}
	if !Contact(&c, in) {
		t.Error("the phone was empty and must be filled")
	}
	if c.Name != "Lucy (VIP)" || c.Language != "en" || c.Country != "GB" || c.Phone != "+34612345678" {
		t.Errorf("overwrote a person's values: %+v", c)
	}
	// Nothing left to fill.
	if Contact(&c, in) {
		t.Error("reported a change on a full contact")
	}
	// The stored phone is used when the message has none.
	c2 := routing.Contact{Phone: "+5215512345678"}
	Contact(&c2, providers.Inbound{})
	if c2.Country != "MX" || c2.Language != "es" {
		t.Errorf("from stored phone: %+v", c2)
	}
	if Contact(nil, in) {
		t.Error("nil contact")
	}
}
