package workflow

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Graph renders the workflow as a Mermaid flowchart: the trigger, one node
// per step (diamonds for branches, hexagons for gotos, rounded nodes for
// steps that wait) and one edge per possible transition, labelled with the
// branch name, else, answer, timeout, invalid or the goto's loop guard.
func Graph(def *Definition) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	fmt.Fprintf(&b, "  trigger([%s])\n", mermaidLabel(triggerLabel(def.Trigger)))
	node := map[string]string{}
	for i, s := range def.Steps {
		node[s.ID] = fmt.Sprintf("n%d", i)
	}
	usesEnd := false
	target := func(id string) string {
		if id == End {
			usesEnd = true
			return "stop"
		}
		if n, ok := node[id]; ok {
			return n
		}
		return "unknown_" + strings.Map(func(r rune) rune {
			if r < 128 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return '_'
		}, id)
	}
	if len(def.Steps) > 0 {
		b.WriteString("  trigger --> n0\n")
	}
	for i := range def.Steps {
		s := &def.Steps[i]
		label := mermaidLabel(s.ID + ": " + stepLabel(s))
		open, close := "[", "]"
		switch s.Type {
		case StepBranch:
			open, close = "{", "}"
		case StepGoto:
			open, close = "{{", "}}"
		case StepWait, StepAsk:
			open, close = "([", "])"
		}
		fmt.Fprintf(&b, "  %s%s%s%s\n", node[s.ID], open, label, close)
		if _, ok := stepFields[s.Type]; !ok {
			continue
		}
		for _, e := range def.edges(i) {
			if e.to == "" {
				continue
			}
			if e.label == "" {
				fmt.Fprintf(&b, "  %s --> %s\n", node[s.ID], target(e.to))
			} else {
				fmt.Fprintf(&b, "  %s -->|%s| %s\n", node[s.ID], mermaidLabel(e.label), target(e.to))
			}
		}
	}
	if usesEnd {
		b.WriteString("  stop((end))\n")
	}
	return b.String()
}

func triggerLabel(t Trigger) string {
	var desc string
	switch t.Type {
	case TriggerShortcut:
		desc = "Shortcut: " + t.Name
	case TriggerContactFieldChanged:
		desc = "Contact field changed: " + t.Field
	default:
		desc = strings.ReplaceAll(t.Type, "_", " ")
		if len(desc) > 0 {
			desc = strings.ToUpper(desc[:1]) + desc[1:]
		}
	}
	var conds []string
	if t.FirstAssignmentOnly {
		conds = append(conds, "first assignment only")
	}
	for _, c := range t.Conditions {
		conds = append(conds, conditionText(c))
	}
	if len(conds) > 0 {
		sep := " and "
		if t.Match == MatchAny {
			sep = " or "
		}
		desc += " (" + strings.Join(conds, sep) + ")"
	}
	return desc
}

func conditionText(c Condition) string {
	s := c.Subject + " " + strings.ReplaceAll(c.Operator, "_", " ")
	if c.Value != nil {
		s += " " + string(*c.Value)
	}
	return s
}

func stepLabel(s *Step) string {
	if s.Name != "" {
		return s.Name
	}
	switch s.Type {
	case StepAssign:
		if s.Agent != "" {
			return "Assign to agent " + s.Agent
		}
		if s.OnlineOnly {
			return "Assign to team " + s.Team + " (online only)"
		}
		return "Assign to team " + s.Team
	case StepWait:
		return "Wait " + string(s.Duration)
	case StepBranch:
		return "Branch"
	case StepAsk:
		return "Ask: " + shorten(s.Question, 40)
	case StepComment:
		return "Comment: " + shorten(s.Text, 40)
	case StepSendMessage:
		return "Send: " + shorten(s.Text, 40)
	case StepUpdateContact:
		return "Set contact " + s.Field
	case StepEscalate:
		return "Escalate (" + s.EscalationType + ")"
	case StepClose:
		return "Close conversation"
	case StepHandoff:
		return "Hand off to people: " + shorten(s.Reason, 40)
	case StepGoto:
		return fmt.Sprintf("Go to %s (at most %d times)", s.Target, s.maxIterations())
	}
	return s.Type
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// mermaidLabel quotes a label, escaping the characters Mermaid would parse.
func mermaidLabel(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ", "|", "#124;")
	return `"` + r.Replace(s) + `"`
}
