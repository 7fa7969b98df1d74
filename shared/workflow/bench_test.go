package workflow

import (
	"fmt"
	"testing"
)

// generated returns a valid workflow of n steps cycling through every step
// type, with live and variable branches, questions and guarded loops.
func generated(n int) *Definition {
	def := &Definition{ID: "generated", Name: "Generated", Trigger: Trigger{Type: TriggerConversationOpened}}
	id := func(i int) string { return fmt.Sprintf("s%03d", i) }
	next := func(i int) string {
		if i+1 < n {
			return id(i + 1)
		}
		return End
	}
	for i := 0; i < n; i++ {
		s := Step{ID: id(i)}
		switch i % 10 {
		case 0:
			s.Type, s.Team, s.OnlineOnly = StepAssign, "support", true
		case 1:
			s.Type, s.Text = StepComment, "Step {{contact.name}} "+id(i)
		case 2:
			s.Type, s.Duration = StepWait, "1m"
		case 3:
			s.Type, s.Else = StepBranch, next(i)
			s.Branches = []Branch{{Name: "open", Match: MatchAll, Next: next(i), Conditions: []Condition{
				{Subject: "conversation.status", Operator: OpEquals, Value: V("open")},
				{Subject: "time_since_last_outgoing", Operator: OpNotExists},
			}}}
		case 4:
			s.Type, s.Question, s.Variable, s.Timeout, s.OnTimeout = StepAsk, "Pick one", fmt.Sprintf("v%d", i), "5m", End
			s.Options = []Option{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}}
		case 5:
			s.Type, s.Else = StepBranch, next(i)
			s.Branches = []Branch{{Next: next(i), Conditions: []Condition{{Subject: fmt.Sprintf("vars.v%d", i-1), Operator: OpEquals, Value: V("a")}}}}
		case 6:
			s.Type, s.Text = StepSendMessage, "You chose {{vars.v"+fmt.Sprint(i-2)+"}}"
		case 7:
			s.Type, s.Field, s.Value = StepUpdateContact, "segment", "{{vars.v"+fmt.Sprint(i-3)+"}}"
		case 8:
			s.Type, s.EscalationType, s.Summary = StepEscalate, "general", "step "+id(i)
		case 9:
			s.Type, s.Target, s.MaxIterations = StepGoto, id(i-7), 2
		}
		if i == n-1 {
			s = Step{ID: id(i), Type: StepClose}
		}
		def.Steps = append(def.Steps, s)
	}
	return def
}

func TestGeneratedWorkflowIsValid(t *testing.T) {
	def := generated(100)
	if errs := Validate(def, demoDirectory{}); len(errs) > 0 {
		t.Fatal(AsError(errs))
	}
	if _, err := Compile(def); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkCompile100Steps(b *testing.B) {
	def := generated(100)
	b.ReportAllocs()
	var size int
	for i := 0; i < b.N; i++ {
		asl, err := Compile(def)
		if err != nil {
			b.Fatal(err)
		}
		size = len(asl)
	}
	b.ReportMetric(float64(size), "asl-bytes")
}

func BenchmarkValidate(b *testing.B) {
	def := generated(100)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if errs := Validate(def, demoDirectory{}); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	canon, err := generated(100).MarshalCanonical()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(canon); err != nil {
			b.Fatal(err)
		}
	}
}
