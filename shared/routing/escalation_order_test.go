package routing

import (
	"testing"
	"time"
)

// Issue 9.9: the seed page's order is the default: general before billing.
func TestDefaultEscalationOrder(t *testing.T) {
	want := map[EscalationType]int{"emergency": 1, "complaint": 2, "appointment": 3, "purchase": 4, "general": 5, "billing": 6, "": NoEscalationRank, "other": NoEscalationRank}
	for typ, rank := range want {
		if got := typ.Rank(); got != rank {
			t.Errorf("%q ranks %d, want %d", typ, got, rank)
		}
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	general := Conversation{ID: "b", PendingSince: at.Add(time.Minute), Escalation: &Escalation{Type: EscGeneral}}
	billing := Conversation{ID: "a", PendingSince: at, Escalation: &Escalation{Type: EscBilling}}
	if !QueueLess(general, billing) || QueueLess(billing, general) {
		t.Fatal("a general escalation must queue before an older billing one")
	}
}

func TestSetEscalationOrder(t *testing.T) {
	t.Cleanup(func() { _ = SetEscalationOrder(nil) })
	if err := SetEscalationOrder([]EscalationType{"billing", "emergency"}); err != nil {
		t.Fatal(err)
	}
	want := []EscalationType{"billing", "emergency", "complaint", "appointment", "purchase", "general"}
	for i, typ := range want {
		if got := typ.Rank(); got != i+1 {
			t.Errorf("%q ranks %d, want %d", typ, got, i+1)
		}
	}
	for _, bad := range [][]EscalationType{{"billing", "billing"}, {"urgent"}} {
		if err := SetEscalationOrder(bad); ErrorCode(err) != CodeInvalid {
			t.Errorf("SetEscalationOrder(%v) = %v, want invalid_argument", bad, err)
		}
	}
	if EscBilling.Rank() != 1 {
		t.Fatal("a refused order changed the order in force")
	}
	if err := SetEscalationOrder(nil); err != nil || EscBilling.Rank() != 6 {
		t.Fatalf("nil restores the default: billing ranks %d (%v)", EscBilling.Rank(), err)
	}
	got, err := ParseEscalationOrder(" Complaint, emergency ,")
	if err != nil || len(got) != 2 || got[0] != EscComplaint || got[1] != EscEmergency {
		t.Fatalf("ParseEscalationOrder = %v, %v", got, err)
	}
	if _, err := ParseEscalationOrder("emergency,nope"); ErrorCode(err) != CodeInvalid {
		t.Fatalf("ParseEscalationOrder of an unknown type: %v", err)
	}
}
