// Package fence keeps the core free of infrastructure: the domain, the event
// contract, the use cases (engine, flows) and the workflow packages import no AWS SDK, no
// bbolt and no net/http, directly or through any dependency. The adapters
// (shared/httpapi, shared/store/*, shared/aws/*, ...) are where those live.
package fence

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// core lists the fenced packages and what each may still import of the
// forbidden set.
var core = map[string][]string{
	"shared/routing":  nil,
	"events":          nil,
	"shared/engine":   nil,
	"shared/workflow": nil,
	"shared/asl":      nil, // its bbolt run store is shared/store/bolt/aslruns
	"shared/flows":    nil, // its routes are shared/httpapi/workflows.go; its runners are adapters
}

// forbidden are import path prefixes the core must not depend on.
var forbidden = []string{
	"github.com/aws/aws-sdk-go-v2",
	"github.com/aws/aws-lambda-go",
	"github.com/aws/smithy-go",
	"github.com/aws/aws-cdk-go",
	"go.etcd.io/bbolt",
	"net/http",
}

const module = "github.com/switchboard-oss/switchboard/"

// deps lists every package pkg depends on (not its tests), from go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg)
	cmd.Dir = modroot.Must(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

// violations are pkg's dependencies in the forbidden set, but for allowed.
func violations(imports []string, allowed []string) []string {
	var out []string
	for _, imp := range imports {
		for _, f := range forbidden {
			if imp != f && !strings.HasPrefix(imp, f+"/") {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || imp == a || strings.HasPrefix(imp, a+"/")
			}
			if !ok {
				out = append(out, imp)
			}
		}
	}
	return out
}

func TestCoreImportsNoInfrastructure(t *testing.T) {
	for pkg, allowed := range core {
		if v := violations(deps(t, pkg), allowed); len(v) > 0 {
			t.Errorf("%s depends on %v: keep AWS, bbolt and HTTP in the adapters", pkg, v)
		}
	}
}

// The fence sees what it must: an adapter's real dependencies trip it, and a
// sub-package of a forbidden path counts.
func TestFenceCatchesViolations(t *testing.T) {
	if v := violations(deps(t, "shared/httpapi"), nil); !contains(v, "net/http") {
		t.Errorf("shared/httpapi's net/http not caught: %v", v)
	}
	if v := violations(deps(t, "shared/store/bolt"), nil); !contains(v, "go.etcd.io/bbolt") {
		t.Errorf("shared/store/bolt's bbolt not caught: %v", v)
	}
	if v := violations([]string{"net/http/httptest", "net/httpx", "github.com/aws/aws-sdk-go-v2/service/sfn", "go.etcd.io/bbolt/errors"}, []string{"go.etcd.io/bbolt"}); len(v) != 2 || v[0] != "net/http/httptest" {
		t.Errorf("violations %v", v)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
