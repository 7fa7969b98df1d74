package e2e

import (
	"testing"
	"time"
)

// The virtual clock takes the durations workflows take (1d), and Go's.
func TestClockAdvanceAcceptsDays(t *testing.T) {
	e := start(t, "")
	r := e.must(e.call("POST", "/v1/dev/clock/advance", e.admin, map[string]any{"duration": "1d"}), 200)
	if got := r.str("now"); got != t0.Add(24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("now %s after 1d", got)
	}
	r = e.must(e.call("POST", "/v1/dev/clock/advance", e.admin, map[string]any{"duration": "1h30m"}), 200)
	if got := r.str("now"); got != t0.Add(25*time.Hour+30*time.Minute).Format(time.RFC3339) {
		t.Fatalf("now %s", got)
	}
	for _, bad := range []string{"", "soon", "-1h", "0s"} {
		if r := e.call("POST", "/v1/dev/clock/advance", e.admin, map[string]any{"duration": bad}); r.Status != 400 || r.str("error.field") != "duration" {
			t.Errorf("%q: %d %s", bad, r.Status, r.Raw)
		}
	}
}
