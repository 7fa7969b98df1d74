package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// errUsage is a command line that names no command: the usage went to
// stderr and the exit status is 2 (an explicit -h exits 0).
var errUsage = errors.New("usage")

// exitCode is the process status of run's error: 0 for none or an explicit
// -h/--help, 2 otherwise.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// newLogger is the server's logger: text (the default) or JSON lines on w.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// toolOutput runs a workflow tool that writes its result or its diagnostics
// to one writer: the result goes to stdout, diagnostics to stderr, so
// `switchboard workflow compile x.yaml > x.asl.json` stays clean.
func toolOutput(f func(io.Writer, string) error, path string, stdout, stderr io.Writer) error {
	var buf bytes.Buffer
	err := f(&buf, path)
	out := stdout
	if err != nil {
		out = stderr
	}
	if _, werr := out.Write(buf.Bytes()); werr != nil && err == nil {
		err = werr
	}
	return err
}
