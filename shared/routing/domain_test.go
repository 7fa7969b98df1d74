package routing

import (
	"sort"
	"testing"
	"time"
)

func TestQueueOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	esc := func(typ EscalationType) *Escalation { return &Escalation{Type: typ} }
	q := []Conversation{
		{ID: "plain-old", PendingSince: t0},
		{ID: "general", PendingSince: t0.Add(time.Minute), Escalation: esc(EscGeneral)},
		{ID: "emergency-new", PendingSince: t0.Add(3 * time.Minute), Escalation: esc(EscEmergency)},
		{ID: "billing", PendingSince: t0, Escalation: esc(EscBilling)},
		{ID: "emergency-old", PendingSince: t0.Add(2 * time.Minute), Escalation: esc(EscEmergency)},
		{ID: "complaint", PendingSince: t0.Add(9 * time.Minute), Escalation: esc(EscComplaint)},
		{ID: "plain-b", PendingSince: t0.Add(time.Hour)},
		{ID: "plain-a", PendingSince: t0.Add(time.Hour)},
	}
	sort.Slice(q, func(i, j int) bool { return QueueLess(q[i], q[j]) })
	want := []string{"emergency-old", "emergency-new", "complaint", "general", "billing", "plain-old", "plain-a", "plain-b"}
	for i, c := range q {
		if c.ID != want[i] {
			t.Fatalf("position %d: %s, want %s", i, c.ID, want[i])
		}
	}
}

func TestQuestionMatch(t *testing.T) {
	q := Question{Options: []AnswerOption{{ID: "sales", Label: "Sales"}, {ID: "support", Label: "Customer Support"}}}
	for _, tc := range []struct{ text, answer, want string }{
		{"2", "", "support"}, {"1.", "", "sales"}, {" customer support ", "", "support"},
		{"SALES", "", "sales"}, {"whatever", "support", "support"}, {"3", "", ""}, {"", "", ""}, {"sale", "", ""},
	} {
		o, ok := q.Match(tc.text, tc.answer)
		if (tc.want == "") == ok || o.ID != tc.want {
			t.Errorf("%q/%q: got %q %v, want %q", tc.text, tc.answer, o.ID, ok, tc.want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	c := Contact{ExternalID: "wa-1", Phone: "+34600"}
	if c.DisplayName() != "+34600" {
		t.Fatal(c.DisplayName())
	}
	c.Name = "Lucía"
	if c.DisplayName() != "Lucía" {
		t.Fatal(c.DisplayName())
	}
	if (Contact{ExternalID: "x"}).DisplayName() != "x" {
		t.Fatal("external id fallback")
	}
}
