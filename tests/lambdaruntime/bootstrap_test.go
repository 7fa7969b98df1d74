package lambdaruntime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// MaxBootstrap is issue 10's ceiling on each bootstrap, as `make build`
// makes it (linux/arm64, -tags lambda.norpc -trimpath -ldflags='-s -w').
const MaxBootstrap = 12_000_000

const module = "github.com/switchboard-oss/switchboard/"

// Sizes are deterministic for a given toolchain and go.sum, so the ceiling
// is a test; init times are not, and are measured by BenchmarkInit.
func TestBootstrapSizes(t *testing.T) {
	dir := buildBootstraps(t)
	published := publishedSizes(t)
	for _, fn := range deployenv.Functions {
		n := fileSize(t, filepath.Join(dir, fn))
		t.Logf("%-10s %s (%d B)", fn, mb(n), n)
		if n > MaxBootstrap {
			t.Errorf("%s bootstrap is %s (%d B), over %s: it links something it does not call (go list -deps ./functions/%s)", fn, mb(n), n, mb(MaxBootstrap), fn)
		}
		if got := published[fn]; got != mb(n) {
			t.Errorf("docs/benchmarks.md publishes %q for the %s bootstrap (linux/arm64, now), the build is %s", got, fn, mb(n))
		}
	}
}

// publishedSizes reads the "now" linux/arm64 size of each function from the
// Lambda binaries table of docs/benchmarks.md ("| api | 22.9 MB → **11.3 MB** |").
func publishedSizes(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(modroot.Must(t), "docs", "benchmarks.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| (\w+) \| [0-9.]+ MB → \*\*([0-9.]+ MB)\*\*`)
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// never lists, per function, packages (or prefixes of package paths) its
// main must not depend on. Every function: not the all-in-one host of the
// tests ("=": that package only) nor another function's root, nothing of
// the local server, not the phone-number library (its
// metadata is decoded at init; shared/enrich carries what it needs) nor
// protobuf.
var never = map[string][]string{
	"*": {"=" + module + "shared/aws/lambdahost", module + "shared/embedded", module + "shared/asl", module + "shared/flows/localasl",
		module + "shared/store/bolt", "go.etcd.io/bbolt", "github.com/nyaruka/phonenumbers", "google.golang.org/protobuf"},
	// only the relay publishes to EventBridge; only the api links the HTTP
	// API (the webhooks write errors through its leaf httpapi/httperror)
	deployenv.API:  {"github.com/aws/aws-sdk-go-v2/service/eventbridge"},
	deployenv.Task: {"github.com/aws/aws-sdk-go-v2/service/eventbridge"},
	deployenv.Webhooks: {"github.com/aws/aws-sdk-go-v2/service/sfn", module + "shared/aws/sfn", module + "shared/workflow",
		module + "shared/flows", "=" + module + "shared/httpapi", "github.com/aws/aws-sdk-go-v2/service/eventbridge"},
	deployenv.Sweeper: {module + "shared/providers", module + "shared/intake", module + "shared/enrich", module + "shared/webhook",
		"github.com/aws/aws-sdk-go-v2/service/sfn", module + "shared/aws/sfn", module + "shared/workflow", module + "shared/flows",
		"=" + module + "shared/httpapi", "github.com/aws/aws-sdk-go-v2/service/secretsmanager", "github.com/aws/aws-sdk-go-v2/service/eventbridge"},
	deployenv.Relay: {module + "shared/engine", module + "shared/providers", module + "shared/intake", module + "shared/flows",
		module + "shared/workflow", "=" + module + "shared/httpapi", "github.com/aws/aws-sdk-go-v2/service/sfn",
		"github.com/aws/aws-sdk-go-v2/service/secretsmanager"},
}

// goDeps lists the packages pkg depends on for linux/arm64 with the Lambda tags.
func goDeps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command(goTool(t), "list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}}", pkg)
	cmd.Dir = modroot.Must(t)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

func fenced(deps, prefixes []string) []string {
	var bad []string
	for _, d := range deps {
		for _, p := range prefixes {
			if exact, ok := strings.CutPrefix(p, "="); ok && d == exact || !ok && (d == p || strings.HasPrefix(d, p+"/")) {
				bad = append(bad, d)
				break
			}
		}
	}
	return bad
}

// Each function links only what it calls (go list -deps on its main).
func TestImportFence(t *testing.T) {
	for _, fn := range deployenv.Functions {
		deps := goDeps(t, "./functions/"+fn)
		forbidden := append(append([]string(nil), never["*"]...), never[fn]...)
		for _, other := range deployenv.Functions {
			if other != fn {
				forbidden = append(forbidden, "="+module+"shared/aws/lambdahost/"+other)
			}
		}
		if bad := fenced(deps, forbidden); len(bad) > 0 {
			t.Errorf("functions/%s depends on %v", fn, bad)
		}
	}
	// The fence sees what it must: the all-in-one host links all of it.
	all := goDeps(t, module+"shared/aws/lambdahost")
	for _, want := range []string{"github.com/aws/aws-sdk-go-v2/service/sfn", module + "shared/providers/whatsapp", "=" + module + "shared/httpapi"} {
		if len(fenced(all, []string{want})) == 0 {
			t.Errorf("the fence does not see %s in shared/aws/lambdahost", want)
		}
	}
}

// BenchmarkInit starts each function b.N times on the Runtime API harness
// (built for this machine with `make build`'s flags) and reports its init:
// the time from process start to its first GET /runtime/invocation/next,
// median and minimum over the starts, beside its bootstrap's size as `make
// build` makes it (linux/arm64). No AWS call is made at init, so none is
// needed. With AWS's Runtime Interface Emulator (RIEEnv, or aws-lambda-rie
// on PATH) it also reports the median init of the emulator's INIT REPORT
// over 3 more starts. SWITCHBOARD_LAMBDA_BEFORE=<dir> measures a second set in the same
// run (<dir>/host/<function> and <dir>/arm64/<function>, e.g. an earlier
// commit's functions), reported as <function>/before.
func BenchmarkInit(b *testing.B) {
	type set struct{ name, host, arm64 string }
	sets := []set{{"now", buildFunctions(b), buildBootstraps(b)}}
	if d := os.Getenv("SWITCHBOARD_LAMBDA_BEFORE"); d != "" {
		sets = append(sets, set{"before", filepath.Join(d, "host"), filepath.Join(d, "arm64")})
	}
	for _, fn := range deployenv.Functions {
		for _, s := range sets {
			b.Run(fn+"/"+s.name, func(b *testing.B) {
				inits := make([]time.Duration, 0, b.N)
				for range b.N {
					p := startFunction(b, s.host, fn, stackEnv(fn, "bench"))
					if p.InitTime == 0 {
						b.Fatalf("%s exited at init:\n%s", fn, p.output.String())
					}
					inits = append(inits, p.InitTime)
					p.stop(b)
				}
				slices.Sort(inits)
				ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
				b.ReportMetric(ms(inits[len(inits)/2]), "ms-init-median")
				b.ReportMetric(ms(inits[0]), "ms-init-min")
				b.ReportMetric(float64(fileSize(b, filepath.Join(s.arm64, fn)))/1e6, "MB-arm64")
				if rie := rieBinary(); rie != "" {
					// the emulator's INIT REPORT of 3 starts; the invocation may
					// fail (nothing listens at the AWS endpoints), its init not
					env := stackEnv(fn, "bench")
					for _, svc := range []string{"DYNAMODB", "EVENTBRIDGE", "SFN", "SECRETS_MANAGER"} {
						env["AWS_ENDPOINT_URL_"+svc] = "http://127.0.0.1:1"
					}
					env["AWS_MAX_ATTEMPTS"] = "1"
					var rieInits []time.Duration
					for range 3 {
						d, _ := rieInvoke(b, rie, filepath.Join(s.host, fn), env, []byte(`{"Records":[]}`))
						rieInits = append(rieInits, d)
					}
					slices.Sort(rieInits)
					b.ReportMetric(ms(rieInits[1]), "ms-init-rie-median")
				}
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
