// Package stack defines the Switchboard CloudFormation stack (AWS CDK v2) and
// the CDK context keys that configure it.
package stack

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/switchboard-oss/switchboard/events"
	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/modroot"
)

// EventSource is the EventBridge source of every Switchboard event (the event
// contract's events.Source); the dispatcher rule matches it.
const EventSource = events.Source

// DefaultStackID is the construct id (and CloudFormation stack name) used when
// the context key stackName is not set.
const DefaultStackID = "Switchboard"

// CDK context keys. docs/deploy.md documents each one with its default.
const (
	CtxStackName             = "stackName"
	CtxAssetDir              = "assetDir"
	CtxEventBusName          = "eventBusName"
	CtxRemovalPolicy         = "removalPolicy"
	CtxOIDCIssuer            = "oidcIssuer"
	CtxOIDCAudience          = "oidcAudience"
	CtxSessionHours          = "sessionHours"
	CtxSessionWarningMinutes = "sessionWarningMinutes"
	CtxSecretsPrefix         = "secretsPrefix"
	CtxStateMachinePrefix    = "stateMachinePrefix"
	CtxLogRetentionDays      = "logRetentionDays"
	CtxMemorySize            = "memorySize"
	CtxAlarmEmail            = "alarmEmail"
	CtxThrottleRate          = "apiThrottleRate"
	CtxThrottleBurst         = "apiThrottleBurst"
	CtxArchiveRetentionDays  = "archiveRetentionDays"
	CtxCorsOrigins           = "corsOrigins"
	CtxMFA                   = "mfa"
	CtxCognitoFeaturePlan    = "cognitoFeaturePlan"
	CtxConfigCacheSeconds    = "configCacheSeconds"
)

// ContextKeys lists every context key the stack reads.
var ContextKeys = []string{
	CtxStackName, CtxAssetDir, CtxEventBusName, CtxRemovalPolicy, CtxOIDCIssuer, CtxOIDCAudience,
	CtxSessionHours, CtxSessionWarningMinutes, CtxSecretsPrefix, CtxStateMachinePrefix,
	CtxLogRetentionDays, CtxMemorySize, CtxAlarmEmail, CtxThrottleRate, CtxThrottleBurst,
	CtxArchiveRetentionDays, CtxCorsOrigins, CtxMFA, CtxCognitoFeaturePlan, CtxConfigCacheSeconds,
}

// Props configures the stack. DefaultProps gives the documented defaults;
// PropsFromContext overlays the CDK context on them.
type Props struct {
	// StackProps is passed to awscdk.NewStack (env, description, ...).
	StackProps awscdk.StackProps
	// AssetDir holds one folder per function with its `bootstrap` binary.
	// A relative path is resolved against the repository root (the folder
	// holding go.mod, found by walking up from the working directory).
	AssetDir string
	// EventBusName is the name of the custom EventBridge bus.
	EventBusName string
	// Destroy sets removal policy DESTROY on stateful resources (dev stacks);
	// false (the default) retains the table, user pool and log groups.
	Destroy bool
	// OIDCIssuer and OIDCAudience select an external OIDC issuer for the JWT
	// authorizer; when OIDCIssuer is empty the stack creates a Cognito user pool.
	OIDCIssuer   string
	OIDCAudience []string
	// SessionHours and SessionWarningMinutes configure the agents' automatic
	// disconnection and the warning before it.
	SessionHours          int
	SessionWarningMinutes int
	// SecretsPrefix is the AWS Secrets Manager name prefix of the provider
	// credentials; functions may read secrets under it only.
	SecretsPrefix string
	// StateMachinePrefix starts the name of every workflow state machine.
	StateMachinePrefix string
	// LogRetentionDays is the retention of every log group.
	LogRetentionDays int
	// MemorySize of every function, in MB.
	MemorySize int
	// AlarmEmail, when set, subscribes this address to the alarm topic.
	AlarmEmail string
	// ThrottleRate (requests per second) and ThrottleBurst of the HTTP API stage.
	ThrottleRate  float64
	ThrottleBurst int
	// ArchiveRetentionDays of the event bus archive; 0 keeps events forever.
	ArchiveRetentionDays int
	// CorsOrigins allowed to call the HTTP API from a browser; empty disables CORS.
	CorsOrigins []string
	// MFA of the Cognito user pool: "required" or "optional" (TOTP).
	MFA string
	// CognitoFeaturePlan of the user pool: "plus" (threat protection) or "essentials".
	CognitoFeaturePlan string
	// ConfigCacheSeconds (0-300) is how long a warm instance of the webhooks,
	// dispatcher, task and sweeper functions keeps the channels, published
	// workflows and teams it read (deployenv.ConfigCacheSeconds); 0 reads them
	// on every event. The api function always reads them afresh.
	ConfigCacheSeconds int
}

// DefaultProps returns the defaults documented in docs/deploy.md.
func DefaultProps() Props {
	return Props{
		AssetDir:              "build/lambda",
		EventBusName:          "switchboard",
		SessionHours:          12,
		SessionWarningMinutes: 30,
		SecretsPrefix:         "switchboard/",
		StateMachinePrefix:    "switchboard-",
		LogRetentionDays:      30,
		MemorySize:            256,
		ThrottleRate:          50,
		ThrottleBurst:         100,
		ArchiveRetentionDays:  30,
		MFA:                   "required",
		CognitoFeaturePlan:    "plus",
		ConfigCacheSeconds:    deployenv.DefaultConfigCacheSeconds,
	}
}

// StackID returns the construct id of the stack: the context key stackName or
// DefaultStackID.
func StackID(node constructs.Node) string {
	if s, ok := contextString(node, CtxStackName); ok && s != "" {
		return s
	}
	return DefaultStackID
}

// PropsFromContext reads every context key from node (usually the App's) on top
// of DefaultProps, resolves AssetDir to an absolute path and validates the result.
func PropsFromContext(node constructs.Node) (Props, error) {
	p := DefaultProps()
	var errs []string
	str := func(key string, dst *string) {
		if v, ok := contextString(node, key); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	num := func(key string, dst *int) {
		v, ok, err := contextNumber(node, key)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		if ok {
			if v != math.Trunc(v) {
				errs = append(errs, fmt.Sprintf("context %s: %v is not a whole number", key, v))
				return
			}
			*dst = int(v)
		}
	}
	list := func(key string, dst *[]string) {
		if v, ok := contextString(node, key); ok {
			*dst = splitList(v)
		}
	}

	str(CtxAssetDir, &p.AssetDir)
	str(CtxEventBusName, &p.EventBusName)
	var removal string
	str(CtxRemovalPolicy, &removal)
	switch strings.ToLower(removal) {
	case "", "retain":
	case "destroy":
		p.Destroy = true
	default:
		errs = append(errs, fmt.Sprintf("context %s: %q is not retain or destroy", CtxRemovalPolicy, removal))
	}
	str(CtxOIDCIssuer, &p.OIDCIssuer)
	list(CtxOIDCAudience, &p.OIDCAudience)
	num(CtxSessionHours, &p.SessionHours)
	num(CtxSessionWarningMinutes, &p.SessionWarningMinutes)
	str(CtxSecretsPrefix, &p.SecretsPrefix)
	str(CtxStateMachinePrefix, &p.StateMachinePrefix)
	num(CtxLogRetentionDays, &p.LogRetentionDays)
	num(CtxMemorySize, &p.MemorySize)
	str(CtxAlarmEmail, &p.AlarmEmail)
	if v, ok, err := contextNumber(node, CtxThrottleRate); err != nil {
		errs = append(errs, err.Error())
	} else if ok {
		p.ThrottleRate = v
	}
	num(CtxThrottleBurst, &p.ThrottleBurst)
	num(CtxArchiveRetentionDays, &p.ArchiveRetentionDays)
	list(CtxCorsOrigins, &p.CorsOrigins)
	str(CtxMFA, &p.MFA)
	p.MFA = strings.ToLower(p.MFA)
	str(CtxCognitoFeaturePlan, &p.CognitoFeaturePlan)
	p.CognitoFeaturePlan = strings.ToLower(p.CognitoFeaturePlan)
	num(CtxConfigCacheSeconds, &p.ConfigCacheSeconds)

	if len(errs) > 0 {
		return p, fmt.Errorf("invalid CDK context: %s", strings.Join(errs, "; "))
	}
	if !filepath.IsAbs(p.AssetDir) {
		root, err := RepoRoot()
		if err != nil {
			return p, err
		}
		p.AssetDir = filepath.Join(root, p.AssetDir)
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// Validate checks the props, naming the context key of each bad value, and
// checks that every function's bootstrap exists under AssetDir.
func (p Props) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("context %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if p.AssetDir == "" {
		bad(CtxAssetDir, "must not be empty")
	} else {
		var missing []string
		for _, name := range deployenv.Functions {
			if st, err := os.Stat(filepath.Join(p.AssetDir, name, "bootstrap")); err != nil || st.IsDir() {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			bad(CtxAssetDir, "no bootstrap for %s under %s (run `make build`)", strings.Join(missing, ", "), p.AssetDir)
		}
	}
	if !validBusName(p.EventBusName) {
		bad(CtxEventBusName, "%q is not a valid event bus name (1-256 of letters, digits, . - _ ; not \"default\")", p.EventBusName)
	}
	if (p.OIDCIssuer == "") != (len(p.OIDCAudience) == 0) {
		bad(CtxOIDCIssuer, "oidcIssuer and oidcAudience must be given together")
	}
	if p.OIDCIssuer != "" && !strings.HasPrefix(p.OIDCIssuer, "https://") {
		bad(CtxOIDCIssuer, "%q must start with https://", p.OIDCIssuer)
	}
	if p.SessionHours < 1 || p.SessionHours > 168 {
		bad(CtxSessionHours, "%d is not between 1 and 168", p.SessionHours)
	}
	if p.SessionWarningMinutes < 0 || p.SessionWarningMinutes >= p.SessionHours*60 {
		bad(CtxSessionWarningMinutes, "%d must be at least 0 and less than the session (%d minutes)", p.SessionWarningMinutes, p.SessionHours*60)
	}
	if p.SecretsPrefix == "" || strings.ContainsAny(p.SecretsPrefix, "*? ") {
		bad(CtxSecretsPrefix, "%q must be a non-empty secret name prefix without wildcards", p.SecretsPrefix)
	}
	if !validStateMachinePrefix(p.StateMachinePrefix) {
		bad(CtxStateMachinePrefix, "%q must be 1-40 of letters, digits, - and _", p.StateMachinePrefix)
	}
	if _, ok := retentionDays[p.LogRetentionDays]; !ok {
		bad(CtxLogRetentionDays, "%d is not one of %s", p.LogRetentionDays, retentionChoices())
	}
	if p.MemorySize < 128 || p.MemorySize > 10240 {
		bad(CtxMemorySize, "%d is not between 128 and 10240", p.MemorySize)
	}
	if p.AlarmEmail != "" && !strings.Contains(p.AlarmEmail, "@") {
		bad(CtxAlarmEmail, "%q is not an email address", p.AlarmEmail)
	}
	if p.ThrottleRate <= 0 {
		bad(CtxThrottleRate, "%v must be positive", p.ThrottleRate)
	}
	if p.ThrottleBurst <= 0 {
		bad(CtxThrottleBurst, "%d must be positive", p.ThrottleBurst)
	}
	if p.ArchiveRetentionDays < 0 {
		bad(CtxArchiveRetentionDays, "%d must be 0 (forever) or more", p.ArchiveRetentionDays)
	}
	for _, o := range p.CorsOrigins {
		if o != "*" && !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			bad(CtxCorsOrigins, "%q is not an origin (https://host[:port])", o)
		}
	}
	if p.MFA != "required" && p.MFA != "optional" {
		bad(CtxMFA, "%q is not required or optional", p.MFA)
	}
	if p.CognitoFeaturePlan != "plus" && p.CognitoFeaturePlan != "essentials" {
		bad(CtxCognitoFeaturePlan, "%q is not plus or essentials", p.CognitoFeaturePlan)
	}
	if p.ConfigCacheSeconds < 0 || p.ConfigCacheSeconds > 300 {
		bad(CtxConfigCacheSeconds, "%d is not between 0 and 300", p.ConfigCacheSeconds)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid stack configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// RepoRoot is the folder holding go.mod, at or above the working directory
// (modroot.Find), against which a relative asset directory is resolved.
func RepoRoot() (string, error) {
	root, err := modroot.Find()
	if err != nil {
		return "", fmt.Errorf("%w: cannot resolve a relative %s", err, CtxAssetDir)
	}
	return root, nil
}

var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

func retentionChoices() string {
	days := make([]int, 0, len(retentionDays))
	for d := range retentionDays {
		days = append(days, d)
	}
	sort.Ints(days)
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ", ")
}

func validBusName(s string) bool {
	if s == "" || len(s) > 256 || s == "default" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validStateMachinePrefix keeps the prefix short enough to leave room for the
// workflow part of the 80-character state machine name.
func validStateMachinePrefix(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// contextString returns a context value as a string; values given in cdk.json
// may be numbers or booleans, `-c key=value` always gives a string.
func contextString(node constructs.Node, key string) (string, bool) {
	v := node.TryGetContext(jsii.String(key))
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case *string:
		if t == nil {
			return "", false
		}
		return *t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	case []interface{}:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ","), true
	default:
		return fmt.Sprint(t), true
	}
}

func contextNumber(node constructs.Node, key string) (float64, bool, error) {
	s, ok := contextString(node, key)
	if !ok || strings.TrimSpace(s) == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("context %s: %q is not a number", key, s)
	}
	return f, true, nil
}
