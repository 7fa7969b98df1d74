package main

// `switchboard workflow validate|compile|graph FILE`: each function reads a
// definition (YAML or JSON; "-" is standard input), writes its result to w
// and returns an error when the command should exit with a failure status.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// ErrInvalid is returned (wrapped) when the definition has problems; the
// problems themselves have been written to w.
var ErrInvalid = errors.New("invalid workflow")

// stdin is replaceable in tests.
var stdin io.Reader = os.Stdin

func load(w io.Writer, path string) (*workflow.Definition, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, workflow.MaxDefinitionBytes+1))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	def, err := workflow.Parse(data)
	if err != nil {
		return nil, report(w, path, err)
	}
	if errs := workflow.Validate(def, nil); len(errs) > 0 {
		return nil, report(w, path, workflow.AsError(errs))
	}
	return def, nil
}

// report writes each problem on its own line, prefixed with the file name.
func report(w io.Writer, path string, err error) error {
	var ve *workflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, fe := range ve.Errors {
		fmt.Fprintf(w, "%s: %s\n", path, fe.String())
	}
	return fmt.Errorf("%s: %w (%d problems)", path, ErrInvalid, len(ve.Errors))
}

// Validate checks a definition (without a team and agent directory) and
// writes a one-line summary, or one line per problem.
func Validate(w io.Writer, path string) error {
	def, err := load(w, path)
	if err != nil {
		return err
	}
	express := "no (it waits)"
	if secs, ok := workflow.ExpressWorstCase(def); ok && secs <= workflow.ExpressMaxSeconds {
		express = "yes"
	} else if ok {
		express = fmt.Sprintf("no (worst case %d s, over %d s)", secs, workflow.ExpressMaxSeconds)
	}
	types := map[string]int{}
	for _, s := range def.Steps {
		types[s.Type]++
	}
	var parts []string
	for _, t := range workflow.StepTypes {
		if n := types[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, t))
		}
	}
	_, err = fmt.Fprintf(w, "%s: valid workflow %q, trigger %s, %d steps (%s), express eligible: %s\n",
		path, def.ID, def.Trigger.Type, len(def.Steps), strings.Join(parts, ", "), express)
	return err
}

// Compile writes the ASL state machine of a definition.
func Compile(w io.Writer, path string) error {
	def, err := load(w, path)
	if err != nil {
		return err
	}
	asl, err := workflow.Compile(def)
	if err != nil {
		return report(w, path, err)
	}
	_, err = w.Write(asl)
	return err
}

// Graph writes a definition as a Mermaid flowchart.
func Graph(w io.Writer, path string) error {
	def, err := load(w, path)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, workflow.Graph(def))
	return err
}
