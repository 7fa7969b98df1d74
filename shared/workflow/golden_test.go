package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

var update = flag.Bool("update", false, "rewrite the golden ASL files under testdata/")

// demoDirectory is the demo data the lead creates.
type demoDirectory struct{}

func (demoDirectory) TeamExists(id string) bool {
	switch id {
	case "billing", "tech_support", "sales", "support", "spanish", "general":
		return true
	}
	return false
}

func (demoDirectory) AgentExists(id string) bool {
	switch id {
	case "ana", "bruno", "carla", "diego", "elena", "farid":
		return true
	}
	return false
}

// sources lists every workflow with a golden ASL: the documented examples
// and the extra workflows under testdata. The key is the golden's base name.
func sources(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pattern := range []string{
		filepath.Join(modroot.Must(t), "docs", "examples", "*.yaml"),
		filepath.Join("testdata", "*.yaml"),
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
		}
	}
	if len(out) < 8 {
		t.Fatalf("expected at least 8 workflow sources, found %d", len(out))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parseFile(t testing.TB, path string) *Definition {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	def, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return def
}

func TestExamplesValidateAndMatchGolden(t *testing.T) {
	srcs := sources(t)
	for _, name := range sortedKeys(srcs) {
		t.Run(name, func(t *testing.T) {
			def := parseFile(t, srcs[name])
			if errs := Validate(def, demoDirectory{}); len(errs) > 0 {
				t.Fatalf("validation errors: %v", AsError(errs))
			}
			got, err := Compile(def)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("compiled ASL is not valid JSON:\n%s", got)
			}
			golden := filepath.Join("testdata", name+".asl.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/workflow -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("compiled ASL differs from %s (rerun with -update if the change is intended):\n%s", golden, got)
			}
		})
	}
}

// TestGoldenASLValidator runs asl-validator on every golden file.
func TestGoldenASLValidator(t *testing.T) {
	bin := filepath.Join(modroot.Must(t), "tools", "node", "node_modules", ".bin", "asl-validator")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("asl-validator is missing (%v): run `make tools`", err)
		}
		t.Skip("asl-validator not installed; run `make tools`")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 8 {
		t.Fatalf("expected at least 8 golden ASL files, found %d", len(files))
	}
	args := []string{}
	for _, f := range files {
		args = append(args, "--json-path", f)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("asl-validator rejected the golden ASL (exit %d):\n%s", exit.ExitCode(), out)
	}
	if err != nil {
		t.Fatalf("running asl-validator: %v\n%s", err, out)
	}
}
