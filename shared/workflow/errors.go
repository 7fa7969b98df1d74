package workflow

import (
	"fmt"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// FieldError is one problem in a definition. Step is the id of the step it
// concerns ("" for the workflow itself, its trigger, or a step without a
// usable id); Field is the path inside the step, or from the top of the
// definition when Step is "" (e.g. "branches[1].conditions[0].operator",
// "trigger.form[0].options", "steps[3].id").
type FieldError struct {
	Step    string `json:"step,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Path is the field's full path from the top of the definition, with the
// step named by id: `steps[route].branches[1].next`.
func (e FieldError) Path() string {
	if e.Step == "" {
		return e.Field
	}
	if e.Field == "" {
		return "steps[" + e.Step + "]"
	}
	return "steps[" + e.Step + "]." + e.Field
}

func (e FieldError) String() string {
	switch {
	case e.Step != "" && e.Field != "":
		return fmt.Sprintf("step %q: %s: %s", e.Step, e.Field, e.Message)
	case e.Step != "":
		return fmt.Sprintf("step %q: %s", e.Step, e.Message)
	case e.Field != "":
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// ValidationError holds every problem found in a definition.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return "invalid workflow: " + strings.Join(parts, "; ")
}

// RoutingError converts the first problem to the shared error type
// (invalid_argument, Field = its full path); the message says how many
// more there are. Callers that can show a list should use Errors instead.
func (e *ValidationError) RoutingError() *routing.Error {
	if len(e.Errors) == 0 {
		return routing.Invalid("definition", "invalid workflow")
	}
	first := e.Errors[0]
	msg := first.String()
	if n := len(e.Errors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	field := first.Path()
	if field == "" {
		field = "definition"
	}
	return routing.Invalid(field, "%s", msg)
}

// AsError returns nil for no problems and a *ValidationError otherwise.
func AsError(errs []FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: errs}
}

func fieldErrs(errs ...FieldError) *ValidationError { return &ValidationError{Errors: errs} }
