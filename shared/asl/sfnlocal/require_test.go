package sfnlocal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestRequireWithoutTools(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	err := Available()
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "harness.mjs") {
		t.Fatalf("Available = %v", err)
	}

	t.Setenv(RequireToolsEnv, "")
	r := &recorder{TB: t}
	Require(r)
	if r.skip == "" || r.fatal != "" {
		t.Errorf("without %s: skip %q fatal %q, want a skip", RequireToolsEnv, r.skip, r.fatal)
	}

	t.Setenv(RequireToolsEnv, "1")
	r = &recorder{TB: t}
	Require(r)
	if r.fatal == "" || !strings.Contains(r.fatal, "make tools") || r.skip != "" {
		t.Errorf("with %s=1: skip %q fatal %q, want a failure naming make tools", RequireToolsEnv, r.skip, r.fatal)
	}
}
