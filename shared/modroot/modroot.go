// Package modroot finds the repository's root: the folder that holds go.mod.
// Tests and tools that read files of the checkout (docs, examples, events'
// test data, the pinned npm tools in tools/node) find it here, from whatever
// package folder `go test` runs them in.
package modroot

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrNoModule is returned when no folder at or above the working directory
// holds a go.mod.
var ErrNoModule = errors.New("no go.mod at or above the working directory")

// Find returns the nearest folder at or above the working directory that
// holds a go.mod file.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return FindFrom(dir)
}

// FindFrom is Find starting at dir.
func FindFrom(dir string) (string, error) {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoModule
		}
		dir = parent
	}
}

// TB is the part of testing.TB that Must uses (so this package does not
// link the testing package into the binaries that use Find).
type TB interface {
	Helper()
	Fatal(args ...any)
}

// Must is Find for tests: it fails t when there is no go.mod.
func Must(t TB) string {
	t.Helper()
	root, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
