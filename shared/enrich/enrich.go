// Package enrich fills a contact's name, phone, country and language from what
// a messaging provider tells about them, before a workflow's first step, so
// workflows can branch on "language equals es" or "country equals MX".
//
// Enrichment only fills empty fields: a value already present, whether set by
// a person (PATCH /v1/contacts/{id}) or by an earlier enrichment, is never
// overwritten.
//
// Country is the ISO 3166-1 alpha-2 region of the phone number (+34 → "ES",
// +1 415 → "US", +1 416 → "CA"), by the rules and metadata of
// github.com/nyaruka/phonenumbers, generated into phonedata.go and loaded on
// first use (phone.go): linking the library itself costs every Lambda
// function about 12 ms at init.
// Language is the primary ISO 639 subtag of the provider's locale (Telegram
// language_code "pt-br" → "pt", Messenger locale "es_LA" → "es"), or else the
// main language of the country (DefaultLanguage).
package enrich

import (
	"strings"

	"github.com/switchboard-oss/switchboard/shared/providers"
	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Contact fills c's empty name, phone, country and language from in, and
// reports whether it changed anything.
func Contact(c *routing.Contact, in providers.Inbound) bool {
	if c == nil {
		return false
	}
	changed := false
	set := func(field *string, v string) {
		if strings.TrimSpace(*field) == "" && v != "" {
			*field = v
			changed = true
		}
	}
	set(&c.Name, strings.TrimSpace(in.FromName))
	set(&c.Phone, in.Phone)
	set(&c.Country, Country(c.Phone))
	lang := Language(in.Locale)
	if lang == "" {
		lang = DefaultLanguage(c.Country)
	}
	set(&c.Language, lang)
	return changed
}

// Language returns the primary language subtag of a locale, lowercased:
// "es", "es_LA", "pt-BR", "zh-Hant-TW" → "es", "es", "pt", "zh"; "" when the
// locale is empty or not a language tag ("und" counts as empty).
func Language(locale string) string {
	tag := strings.TrimSpace(locale)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	tag = strings.ToLower(tag)
	if len(tag) < 2 || len(tag) > 3 || tag == "und" {
		return ""
	}
	for _, r := range tag {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return tag
}

// defaultLanguages maps a region to its main language, for contacts whose
// provider tells no locale. Multilingual regions whose main language is not
// clear (CH, BE, LU, IN, ...) are left out on purpose.
var defaultLanguages = map[string]string{
	// Spanish
	"ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "VE": "es", "EC": "es",
	"GT": "es", "CU": "es", "BO": "es", "DO": "es", "HN": "es", "PY": "es", "SV": "es", "NI": "es",
	"CR": "es", "PA": "es", "UY": "es", "PR": "es", "GQ": "es",
	// Portuguese
	"BR": "pt", "PT": "pt", "AO": "pt", "MZ": "pt", "CV": "pt", "GW": "pt", "ST": "pt", "TL": "pt",
	// English
	"US": "en", "GB": "en", "IE": "en", "AU": "en", "NZ": "en", "CA": "en", "JM": "en", "TT": "en",
	"BS": "en", "BB": "en", "GH": "en", "NG": "en", "KE": "en", "UG": "en", "ZA": "en", "ZW": "en",
	"ZM": "en", "SG": "en", "GI": "en", "MT": "en",
	// French
	"FR": "fr", "MC": "fr", "SN": "fr", "CI": "fr", "ML": "fr", "BF": "fr", "NE": "fr", "TG": "fr",
	"BJ": "fr", "GA": "fr", "CG": "fr", "CD": "fr", "HT": "fr", "RE": "fr", "GP": "fr", "MQ": "fr",
	"GF": "fr", "NC": "fr", "PF": "fr",
	// German
	"DE": "de", "AT": "de", "LI": "de",
	// Italian
	"IT": "it", "SM": "it", "VA": "it",
	// Others
	"NL": "nl", "SR": "nl", "PL": "pl", "CZ": "cs", "SK": "sk", "HU": "hu", "RO": "ro", "MD": "ro",
	"BG": "bg", "GR": "el", "CY": "el", "HR": "hr", "RS": "sr", "SI": "sl", "SE": "sv", "NO": "nb",
	"DK": "da", "FI": "fi", "IS": "is", "EE": "et", "LV": "lv", "LT": "lt", "UA": "uk", "RU": "ru",
	"BY": "be", "TR": "tr", "IL": "he", "IR": "fa", "JP": "ja", "KR": "ko", "CN": "zh", "TW": "zh",
	"HK": "zh", "VN": "vi", "TH": "th", "ID": "id", "MY": "ms", "PH": "fil", "BD": "bn", "PK": "ur",
	"SA": "ar", "AE": "ar", "EG": "ar", "MA": "ar", "DZ": "ar", "TN": "ar", "JO": "ar", "LB": "ar",
	"IQ": "ar", "KW": "ar", "QA": "ar", "BH": "ar", "OM": "ar", "YE": "ar", "LY": "ar", "SY": "ar",
}

// DefaultLanguage returns the main language of a region code ("MX" → "es"),
// or "" when unknown or ambiguous.
func DefaultLanguage(country string) string {
	return defaultLanguages[strings.ToUpper(strings.TrimSpace(country))]
}
