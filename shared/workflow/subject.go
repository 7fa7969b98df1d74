package workflow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

var (
	identRe      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	stepIDRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	workflowIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	optionIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	numberRe     = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,15})?$`)
)

// reservedStepIDs cannot be step ids: "end" is the end target and the
// others name states the compiler adds.
var reservedStepIDs = map[string]bool{End: true, stateRecordFailure: true, stateFailed: true, stateDone: true}

// valueKind is the type of a condition subject.
type valueKind int

const (
	kindString valueKind = iota
	kindNumber
	kindSeconds // a number of seconds; values may be durations
	kindBool
	kindStatus
	kindEscalation
)

var kindOps = map[valueKind][]string{
	kindString:     {OpEquals, OpNotEquals, OpContains, OpExists, OpNotExists},
	kindNumber:     {OpEquals, OpNotEquals, OpGreaterThan, OpLessThan, OpExists, OpNotExists},
	kindSeconds:    {OpEquals, OpNotEquals, OpGreaterThan, OpLessThan, OpExists, OpNotExists},
	kindBool:       {OpEquals, OpNotEquals},
	kindStatus:     {OpEquals, OpNotEquals},
	kindEscalation: {OpEquals, OpNotEquals, OpExists, OpNotExists},
}

// subject is a resolved condition subject.
type subject struct {
	kind valueKind
	path string // JSONPath into the execution state (branch subjects)
	live bool   // read from the snapshot taken before the branch
	ns   string // "form", "vars", "contact", "conversation" or "" (time, trigger subjects)
	name string // the field after the namespace
	ref  string // "agent" or "team" when the value is such an id
}

// Snapshot paths: the snapshot task stores its payload at $.ctx.data.
const ctxPath = "$.ctx.data"

var contactBuiltins = map[string]bool{"name": true, "phone": true, "language": true, "country": true}

var conversationSubjects = map[string]subject{
	"status":      {kind: kindStatus, path: ctxPath + ".conversation.status"},
	"assignee":    {kind: kindString, path: ctxPath + ".conversation.assigneeId", ref: "agent"},
	"team":        {kind: kindString, path: ctxPath + ".conversation.teamId", ref: "team"},
	"assignments": {kind: kindNumber, path: ctxPath + ".conversation.assignments"},
	"escalation":  {kind: kindEscalation, path: ctxPath + ".conversation.escalationType"},
	"botActive":   {kind: kindBool, path: ctxPath + ".conversation.botActive"},
}

// branchSubject resolves the subject of a branch condition.
func branchSubject(s string) (subject, error) {
	switch s {
	case "time_since_last_incoming":
		return subject{kind: kindSeconds, path: ctxPath + ".secondsSinceLastIncoming", live: true}, nil
	case "time_since_last_outgoing":
		return subject{kind: kindSeconds, path: ctxPath + ".secondsSinceLastOutgoing", live: true}, nil
	}
	ns, name, ok := strings.Cut(s, ".")
	if !ok || name == "" {
		return subject{}, fmt.Errorf("unknown subject %q: use contact.<field>, conversation.<field>, time_since_last_incoming, time_since_last_outgoing, form.<field> or vars.<name>", s)
	}
	switch ns {
	case "contact":
		if !identRe.MatchString(name) {
			return subject{}, fmt.Errorf("invalid contact field %q: use letters, digits and _", name)
		}
		p := ctxPath + ".contact." + name
		if !contactBuiltins[name] {
			p = ctxPath + ".contact.fields." + name
		}
		return subject{kind: kindString, path: p, live: true, ns: ns, name: name}, nil
	case "conversation":
		sub, ok := conversationSubjects[name]
		if !ok {
			return subject{}, fmt.Errorf("unknown conversation field %q: use status, assignee, team, assignments, escalation or botActive", name)
		}
		sub.live, sub.ns, sub.name = true, ns, name
		return sub, nil
	case "form", "vars":
		if !identRe.MatchString(name) {
			return subject{}, fmt.Errorf("invalid %s name %q: use letters, digits and _", ns, name)
		}
		return subject{kind: kindString, path: "$." + ns + "." + name, ns: ns, name: name}, nil
	}
	return subject{}, fmt.Errorf("unknown subject %q: use contact.<field>, conversation.<field>, time_since_last_incoming, time_since_last_outgoing, form.<field> or vars.<name>", s)
}

// triggerSubject resolves the subject of a trigger condition.
func triggerSubject(triggerType, s string) (subject, error) {
	switch s {
	case "channel", "provider":
		return subject{kind: kindString, name: s}, nil
	case "source":
		if triggerType == TriggerConversationOpened {
			return subject{kind: kindString, name: s}, nil
		}
	case "text":
		if triggerType == TriggerMessageReceived {
			return subject{kind: kindString, name: s}, nil
		}
	case "value":
		if triggerType == TriggerContactFieldChanged {
			return subject{kind: kindString, name: s}, nil
		}
	case "reason":
		if triggerType == TriggerHandoffRequested {
			return subject{kind: kindString, name: s}, nil
		}
	}
	if ns, name, ok := strings.Cut(s, "."); ok && ns == "contact" {
		if !identRe.MatchString(name) {
			return subject{}, fmt.Errorf("invalid contact field %q: use letters, digits and _", name)
		}
		return subject{kind: kindString, ns: ns, name: name}, nil
	}
	allowed := "channel, provider, contact.<field>"
	switch triggerType {
	case TriggerConversationOpened:
		allowed = "source, " + allowed
	case TriggerMessageReceived:
		allowed = "text, " + allowed
	case TriggerContactFieldChanged:
		allowed = "value, " + allowed
	case TriggerHandoffRequested:
		allowed = "reason, " + allowed
	}
	return subject{}, fmt.Errorf("unknown subject %q for a %s trigger: use %s", s, triggerType, allowed)
}

// checkValue validates a condition's value for the subject's kind and
// returns it normalised (seconds for durations).
func checkValue(sub subject, op string, v *Value) (string, error) {
	if op == OpExists || op == OpNotExists {
		if v != nil {
			return "", fmt.Errorf("%s takes no value", op)
		}
		return "", nil
	}
	if v == nil {
		return "", fmt.Errorf("%s needs a value", op)
	}
	s := string(*v)
	switch sub.kind {
	case kindNumber:
		if !numberRe.MatchString(s) {
			return "", fmt.Errorf("value %q is not a number", s)
		}
	case kindSeconds:
		n, err := ParseDuration(s)
		if err != nil {
			return "", fmt.Errorf("value %q is not a duration or a number of seconds", s)
		}
		s = strconv.FormatInt(n, 10)
	case kindBool:
		if s != "true" && s != "false" {
			return "", fmt.Errorf("value %q must be true or false", s)
		}
	case kindStatus:
		if !routing.ConversationStatus(s).Valid() {
			return "", fmt.Errorf("value %q is not a conversation status (pending, open, closed)", s)
		}
	case kindEscalation:
		if !routing.EscalationType(s).Valid() {
			return "", fmt.Errorf("value %q is not an escalation type (%s)", s, escalationList())
		}
	case kindString:
		if s == "" && op == OpContains {
			return "", fmt.Errorf("contains needs a non-empty value")
		}
	}
	return s, nil
}

func escalationList() string {
	parts := make([]string, len(routing.EscalationTypes))
	for i, t := range routing.EscalationTypes {
		parts[i] = string(t)
	}
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
