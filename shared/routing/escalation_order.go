package routing

import (
	"strings"
	"sync/atomic"
)

// DefaultEscalationOrder ranks the escalation types as the BrainHi seed
// page's menu does: emergency, complaint, appointment, purchase, then
// general (which it describes as urgent) before billing.
var DefaultEscalationOrder = []EscalationType{EscEmergency, EscComplaint, EscAppointment, EscPurchase, EscGeneral, EscBilling}

// escalationOrder is the order in force (nil: DefaultEscalationOrder).
var escalationOrder atomic.Pointer[[]EscalationType]

// EscalationOrder returns the escalation types, most urgent first, in the
// order in force. The caller must not change the slice.
func EscalationOrder() []EscalationType {
	if p := escalationOrder.Load(); p != nil {
		return *p
	}
	return DefaultEscalationOrder
}

// SetEscalationOrder sets the process's escalation order: the types given,
// most urgent first, then the ones left out in their default order. A nil or
// empty order restores the default. Unknown or repeated types are refused.
//
// Hosts call it once at startup, before anything is queued: the stores index
// the pending queue by rank when a conversation is written, so a changed
// order applies to conversations queued (or escalated) after it; ones already
// pending keep their place until they are written again.
func SetEscalationOrder(order []EscalationType) error {
	if len(order) == 0 {
		escalationOrder.Store(nil)
		return nil
	}
	if err := checkOrder(order); err != nil {
		return err
	}
	seen := map[EscalationType]bool{}
	full := make([]EscalationType, 0, len(DefaultEscalationOrder))
	for _, t := range order {
		seen[t] = true
		full = append(full, t)
	}
	for _, d := range DefaultEscalationOrder {
		if !seen[d] {
			full = append(full, d)
		}
	}
	escalationOrder.Store(&full)
	return nil
}

// ParseEscalationOrder reads a comma-separated order ("emergency,billing,...")
// as a host's flag or setting gives it, and checks it like SetEscalationOrder.
func ParseEscalationOrder(s string) ([]EscalationType, error) {
	var out []EscalationType
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, EscalationType(strings.ToLower(p)))
		}
	}
	if err := checkOrder(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOrder refuses unknown and repeated types.
func checkOrder(order []EscalationType) error {
	seen := map[EscalationType]bool{}
	for _, t := range order {
		if !t.Valid() {
			return Invalid("escalationOrder", "%q is not an escalation type (emergency, complaint, appointment, purchase, general, billing)", t)
		}
		if seen[t] {
			return Invalid("escalationOrder", "%q is listed twice", t)
		}
		seen[t] = true
	}
	return nil
}
