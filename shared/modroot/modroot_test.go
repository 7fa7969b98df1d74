package modroot_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

func TestFindFromANestedFolder(t *testing.T) {
	top := t.TempDir()
	nested := filepath.Join(top, "a", "b")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := modroot.FindFrom(nested); err == nil && strings.HasPrefix(got, top) {
		t.Fatalf("FindFrom = %s before any go.mod was written", got)
	} else if err != nil && !errors.Is(err, modroot.ErrNoModule) {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "go.mod"), []byte("module example.com/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// a folder named go.mod on the way up is not a module
	if err := os.Mkdir(filepath.Join(top, "a", "go.mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := modroot.FindFrom(nested); err != nil || got != top {
		t.Fatalf("FindFrom = %q, %v; want %q", got, err, top)
	}
}

func TestMustFindsThisRepository(t *testing.T) {
	root := modroot.Must(t)
	if _, err := os.Stat(filepath.Join(root, "shared", "modroot", "modroot.go")); err != nil {
		t.Fatalf("Must = %s, which is not this repository: %v", root, err)
	}
}
