package enrich

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The phone metadata Country needs, generated from
// github.com/nyaruka/phonenumbers (phonedata.go, written by
// `go test ./shared/enrich -run TestPhoneDataInSync -update`). Country used to
// call that library, which decodes all its metadata (and registers its
// protobuf types) when the program starts, about 12 ms in every Lambda
// function that links it, and whose protobuf reflection keeps every method of
// every AWS client in the binaries. This is the part of it Country uses:
// parsing an international number and GetRegionCodeForNumber, with the
// library's own rules and patterns, decoded on first use and each pattern
// compiled when a number first needs it. TestCountryMatchesPhonenumbers
// compares the two on every region's example numbers and on random ones.

// phoneDesc is a PhoneNumberDesc: a national number pattern and the possible
// lengths (none: any).
type phoneDesc struct {
	Pattern string  `json:"p"`
	Lengths []int32 `json:"l,omitempty"`
}

// phoneRegion is what GetRegionCodeForNumber reads of a region sharing its
// calling code with others.
type phoneRegion struct {
	ID      string      `json:"id"`
	Leading string      `json:"lead,omitempty"` // leadingDigits: decides alone when set
	General phoneDesc   `json:"gen"`
	Types   []phoneDesc `json:"types,omitempty"` // every non-empty number type's desc
}

// phoneCode is a country calling code.
type phoneCode struct {
	// Regions, the main one first ("001": a non-geographical entity).
	Regions []string `json:"regions"`
	// The main region's parsing rules: the national prefix Parse strips
	// (a pattern, its transform rule) and its general desc.
	Prefix    string    `json:"prefix,omitempty"`
	Transform string    `json:"transform,omitempty"`
	General   phoneDesc `json:"gen"`
	LocalOnly []int32   `json:"local,omitempty"`
	// Shared: each region's rules, in Regions' order, when there are several.
	Shared []phoneRegion `json:"shared,omitempty"`
}

var phoneMeta = sync.OnceValue(func() map[int]*phoneCode {
	m := map[int]*phoneCode{}
	if err := json.Unmarshal([]byte(phoneData), &m); err != nil {
		panic("enrich: phone metadata: " + err.Error())
	}
	return m
})

var (
	regexMu sync.Mutex
	regexes = map[string]*regexp.Regexp{}
)

func regexFor(p string) *regexp.Regexp {
	regexMu.Lock()
	defer regexMu.Unlock()
	re, ok := regexes[p]
	if !ok {
		re = regexp.MustCompile(p)
		regexes[p] = re
	}
	return re
}

func (d phoneDesc) matches(n string) bool {
	if d.Pattern == "" {
		return false
	}
	if len(d.Lengths) > 0 {
		found := false
		for _, l := range d.Lengths {
			found = found || int(l) == len(n)
		}
		if !found {
			return false
		}
	}
	return regexFor("^(?:" + d.Pattern + ")$").MatchString(n)
}

// region is getRegionCodeForNumberFromRegionList.
func (c *phoneCode) region(nsn string) string {
	for _, r := range c.Shared {
		if r.Leading != "" {
			if regexFor("^(?:" + r.Leading + ")").MatchString(nsn) {
				return r.ID
			}
			continue
		}
		if !r.General.matches(nsn) {
			continue
		}
		for _, t := range r.Types {
			if t.matches(nsn) {
				return r.ID
			}
		}
	}
	return ""
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode followed by
// Parse's check that the stripped number has a possible length.
func (c *phoneCode) stripNationalPrefix(n string) string {
	if c.Prefix == "" || n == "" {
		return n
	}
	prefix := regexFor("^(?:" + c.Prefix + ")")
	groups := prefix.FindStringSubmatchIndex(n)
	if groups == nil {
		return n
	}
	rule := regexFor("^(?:" + c.General.Pattern + ")$")
	viable := rule.MatchString(n)
	last := len(groups)/2 - 1
	var out string
	if c.Transform == "" || groups[last*2] < 0 {
		if viable && !rule.MatchString(n[groups[1]:]) {
			return n
		}
		out = n[groups[1]:]
	} else {
		out = prefix.ReplaceAllString(n, c.Transform)
		if viable && !rule.MatchString(out) {
			return n
		}
	}
	if c.possibleLength(out) {
		return out
	}
	return n
}

// possibleLength is testNumberLength(n, main region, UNKNOWN) neither
// TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY nor INVALID_LENGTH.
func (c *phoneCode) possibleLength(n string) bool {
	ls, l := c.General.Lengths, int32(len(n))
	if len(ls) == 0 || ls[0] == -1 {
		return false
	}
	for _, x := range c.LocalOnly {
		if x == l {
			return false
		}
	}
	if l <= ls[0] || l > ls[len(ls)-1] {
		return l >= ls[0]
	}
	for _, x := range ls[1:] {
		if x == l {
			return true
		}
	}
	return false
}

// Country returns the region code of an E.164 phone number ("+34612345678" →
// "ES"), or "" when the number has no geographic region. Spaces, dots,
// dashes and parentheses between the digits are ignored; anything else
// (letters, extensions) is not an E.164 number and has no region here.
func Country(phone string) string {
	phone = strings.TrimSpace(phone)
	if !strings.HasPrefix(phone, "+") || len(phone) > 250 {
		return ""
	}
	digits := make([]byte, 0, len(phone))
	for i := 1; i < len(phone); i++ {
		switch ch := phone[i]; {
		case ch >= '0' && ch <= '9':
			digits = append(digits, ch)
		case ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')':
		default:
			return ""
		}
	}
	if len(digits) < 2 || digits[0] == '0' {
		return ""
	}
	meta := phoneMeta()
	var code *phoneCode
	var national string
	for i := 1; i <= 3 && i <= len(digits); i++ {
		cc, _ := strconv.Atoi(string(digits[:i]))
		if c, ok := meta[cc]; ok {
			code, national = c, string(digits[i:])
			break
		}
	}
	if code == nil || len(national) < 2 {
		return ""
	}
	nsn := code.stripNationalPrefix(national)
	if len(nsn) < 2 || len(nsn) > 17 {
		return ""
	}
	region := code.Regions[0]
	if len(code.Regions) > 1 {
		// Not valid in any region sharing the calling code: take the main one.
		if r := code.region(nsn); r != "" {
			region = r
		}
	}
	if region == "001" {
		return ""
	}
	return region
}
