// Package sfn runs Switchboard's workflows on AWS Step Functions: it
// implements flows.Runner over the Step Functions API.
//
// Each published workflow has a state machine named MachineName(prefix, id,
// express): "<prefix><workflow id>" for Standard machines and
// "<prefix>_express_<workflow id>" for Express ones (a workflow id never
// starts with '_', so the two never collide; a workflow whose versions
// alternate between the types keeps one machine of each, because Step
// Functions cannot change a machine's type). Names longer than Step
// Functions' 80 characters are shortened with a hash.
//
// Deploy creates the machine (or updates it when it exists) with the
// version's ASL, the task function's ARN in place of
// workflow.TaskFunctionPlaceholder, logging to the workflow log group and
// X-Ray tracing; publishes a Step Functions version of that revision; and
// points the alias "live" at it; then deletes old versions (Step Functions
// allows 1,000 per machine: see KeepVersions). Deploy returns the version
// ARN, which the store records, and Start starts executions on exactly that
// version (the alias is eventually consistent), so running executions
// finish on the version they started with.
//
// Every AWS error is translated to a *routing.Error here.
package sfn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-oss/switchboard/shared/flows"
	"github.com/switchboard-oss/switchboard/shared/routing"
	"github.com/switchboard-oss/switchboard/shared/workflow"
)

// API is the part of the Step Functions client the runner calls;
// *sfn.Client implements it.
type API interface {
	CreateStateMachine(ctx context.Context, in *awssfn.CreateStateMachineInput, optFns ...func(*awssfn.Options)) (*awssfn.CreateStateMachineOutput, error)
	UpdateStateMachine(ctx context.Context, in *awssfn.UpdateStateMachineInput, optFns ...func(*awssfn.Options)) (*awssfn.UpdateStateMachineOutput, error)
	PublishStateMachineVersion(ctx context.Context, in *awssfn.PublishStateMachineVersionInput, optFns ...func(*awssfn.Options)) (*awssfn.PublishStateMachineVersionOutput, error)
	CreateStateMachineAlias(ctx context.Context, in *awssfn.CreateStateMachineAliasInput, optFns ...func(*awssfn.Options)) (*awssfn.CreateStateMachineAliasOutput, error)
	UpdateStateMachineAlias(ctx context.Context, in *awssfn.UpdateStateMachineAliasInput, optFns ...func(*awssfn.Options)) (*awssfn.UpdateStateMachineAliasOutput, error)
	StartExecution(ctx context.Context, in *awssfn.StartExecutionInput, optFns ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *awssfn.SendTaskSuccessInput, optFns ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *awssfn.SendTaskFailureInput, optFns ...func(*awssfn.Options)) (*awssfn.SendTaskFailureOutput, error)
	ListStateMachineVersions(ctx context.Context, in *awssfn.ListStateMachineVersionsInput, optFns ...func(*awssfn.Options)) (*awssfn.ListStateMachineVersionsOutput, error)
	DeleteStateMachineVersion(ctx context.Context, in *awssfn.DeleteStateMachineVersionInput, optFns ...func(*awssfn.Options)) (*awssfn.DeleteStateMachineVersionOutput, error)
	ListExecutions(ctx context.Context, in *awssfn.ListExecutionsInput, optFns ...func(*awssfn.Options)) (*awssfn.ListExecutionsOutput, error)
}

var _ API = (*awssfn.Client)(nil)

// Alias is the name of the alias executions start on.
const Alias = "live"

// ReasonTaskEnded is the conflict reason of SendTaskSuccess/SendTaskFailure
// for a task that timed out or whose execution ended: retrying cannot help.
const ReasonTaskEnded = "task_ended"

// MaxNameLength is Step Functions' limit for state machine and execution names.
const MaxNameLength = 80

// KeepVersions is how many of a machine's newest published versions Deploy
// keeps; older ones are deleted unless an execution still runs on them
// (Step Functions allows 1,000 versions per state machine).
const KeepVersions = 5

// expressMarker follows the prefix in Express machine names.
const expressMarker = "_express_"

// Config holds what the stack passes in the environment (infra/stack). Start
// needs Prefix and ARNPrefix; Deploy needs all of them.
type Config struct {
	Prefix          string // STATE_MACHINE_PREFIX
	ARNPrefix       string // STATE_MACHINE_ARN_PREFIX: arn:<partition>:states:<region>:<account>:stateMachine:<prefix>
	TaskFunctionARN string // TASK_FUNCTION_ARN
	RoleARN         string // STATE_MACHINE_ROLE_ARN
	LogGroupARN     string // STATE_MACHINE_LOG_GROUP_ARN (ends with ":*")
	// LogLevel of the machines' CloudWatch logging (default ERROR).
	// Execution data (messages, contact fields) is never included.
	LogLevel types.LogLevel
	// Tags are added to every machine created (the runner adds
	// "switchboard:workflow" = the workflow id).
	Tags map[string]string
}

// Runner implements flows.Runner on Step Functions. It is safe for
// concurrent use.
type Runner struct {
	api API
	cfg Config
	log *slog.Logger
}

var _ flows.Runner = (*Runner)(nil)

// New returns a runner. It makes no call.
func New(api API, cfg Config, log *slog.Logger) *Runner {
	if cfg.LogLevel == "" {
		cfg.LogLevel = types.LogLevelError
	}
	if log == nil {
		log = slog.Default()
	}
	return &Runner{api: api, cfg: cfg, log: log}
}

// MachineName is the state machine name of a workflow: "<prefix><id>" for
// Standard, "<prefix>_express_<id>" for Express. When that is longer than 80
// characters, the id is cut and a hash of the full name appended
// ("<prefix><id…>-<16 hex>"), so the name stays unique and deterministic.
func MachineName(prefix, workflowID string, express bool) string {
	body := workflowID
	if express {
		body = expressMarker + workflowID
	}
	name := prefix + body
	if len(name) <= MaxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "-" + hex.EncodeToString(sum[:8])
	keep := MaxNameLength - len(prefix) - len(suffix)
	if keep < 0 {
		keep = 0
	}
	return prefix + body[:keep] + suffix
}

// MachineARN is the ARN of a workflow's state machine.
func (r *Runner) MachineARN(workflowID string, express bool) string {
	name := MachineName(r.cfg.Prefix, workflowID, express)
	return r.cfg.ARNPrefix + strings.TrimPrefix(name, r.cfg.Prefix)
}

// AliasARN is the ARN executions of a workflow start on.
func (r *Runner) AliasARN(workflowID string, express bool) string {
	return r.MachineARN(workflowID, express) + ":" + Alias
}

func (r *Runner) needStart() error {
	if r.cfg.Prefix == "" || r.cfg.ARNPrefix == "" {
		r.log.Error("sfn: STATE_MACHINE_PREFIX and STATE_MACHINE_ARN_PREFIX are required to start workflows")
		return routing.Errorf(routing.CodeInternal, "this function is not configured to run workflows")
	}
	if !strings.HasSuffix(r.cfg.ARNPrefix, ":stateMachine:"+r.cfg.Prefix) {
		r.log.Error("sfn: STATE_MACHINE_ARN_PREFIX does not end with :stateMachine:<STATE_MACHINE_PREFIX>", "arnPrefix", r.cfg.ARNPrefix, "prefix", r.cfg.Prefix)
		return routing.Errorf(routing.CodeInternal, "this function is not configured to run workflows")
	}
	return nil
}

func (r *Runner) needDeploy() error {
	if err := r.needStart(); err != nil {
		return err
	}
	if r.cfg.TaskFunctionARN == "" || r.cfg.RoleARN == "" || r.cfg.LogGroupARN == "" {
		r.log.Error("sfn: TASK_FUNCTION_ARN, STATE_MACHINE_ROLE_ARN and STATE_MACHINE_LOG_GROUP_ARN are required to deploy workflows")
		return routing.Errorf(routing.CodeInternal, "this function is not configured to publish workflows")
	}
	return nil
}

// Definition returns the ASL of v as deployed: the task function's ARN in
// place of every workflow.TaskFunctionPlaceholder.
func (r *Runner) Definition(v routing.WorkflowVersion) ([]byte, error) {
	if len(bytes.TrimSpace(v.ASL)) == 0 {
		return nil, routing.Invalid("asl", "workflow %s version %d has no ASL", v.WorkflowID, v.Number)
	}
	arn, err := json.Marshal(r.cfg.TaskFunctionARN) // a JSON string body, quotes stripped below
	if err != nil {
		return nil, err
	}
	def := bytes.ReplaceAll(v.ASL, []byte(workflow.TaskFunctionPlaceholder), arn[1:len(arn)-1])
	if !json.Valid(def) {
		return nil, routing.Invalid("asl", "workflow %s version %d: the ASL is not valid JSON", v.WorkflowID, v.Number)
	}
	return def, nil
}

// Deploy creates or updates the workflow's state machine with v's ASL,
// publishes a version of it, points the live alias at that version, prunes
// old versions (see prune) and returns the version's ARN, which Start
// uses. Deploying the same version again changes nothing (Step Functions'
// publishing is idempotent per revision). A definition over Step
// Functions' 1,048,576 characters is refused as invalid before any call.
func (r *Runner) Deploy(ctx context.Context, v routing.WorkflowVersion, express bool) (string, error) {
	if err := r.needDeploy(); err != nil {
		return "", err
	}
	if v.WorkflowID == "" {
		return "", routing.Invalid("workflowId", "workflowId is required")
	}
	def, err := r.Definition(v)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCount(def); n > workflow.MaxDefinitionSize {
		return "", routing.Invalid("asl", "workflow %s version %d: the state machine definition is %d characters, more than Step Functions' limit of %d", v.WorkflowID, v.Number, n, workflow.MaxDefinitionSize)
	}
	name := MachineName(r.cfg.Prefix, v.WorkflowID, express)
	arn := r.MachineARN(v.WorkflowID, express)
	typ := types.StateMachineTypeStandard
	if express {
		typ = types.StateMachineTypeExpress
	}
	logging := &types.LoggingConfiguration{
		Level:                r.cfg.LogLevel,
		IncludeExecutionData: false,
		Destinations: []types.LogDestination{{
			CloudWatchLogsLogGroup: &types.CloudWatchLogsLogGroup{LogGroupArn: aws.String(r.cfg.LogGroupARN)},
		}},
	}
	tracing := &types.TracingConfiguration{Enabled: true}
	what := fmt.Sprintf("workflow %s version %d", v.WorkflowID, v.Number)

	tags := []types.Tag{{Key: aws.String("switchboard:workflow"), Value: aws.String(v.WorkflowID)}}
	for k, val := range r.cfg.Tags {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(val)})
	}
	var revision *string
	_, err = r.api.CreateStateMachine(ctx, &awssfn.CreateStateMachineInput{
		Name:                 aws.String(name),
		Definition:           aws.String(string(def)),
		RoleArn:              aws.String(r.cfg.RoleARN),
		Type:                 typ,
		LoggingConfiguration: logging,
		TracingConfiguration: tracing,
		Tags:                 tags,
	})
	var exists *types.StateMachineAlreadyExists
	switch {
	case errors.As(err, &exists):
		out, uerr := r.api.UpdateStateMachine(ctx, &awssfn.UpdateStateMachineInput{
			StateMachineArn:      aws.String(arn),
			Definition:           aws.String(string(def)),
			RoleArn:              aws.String(r.cfg.RoleARN),
			LoggingConfiguration: logging,
			TracingConfiguration: tracing,
		})
		if uerr != nil {
			return "", r.translate(ctx, uerr, "update state machine "+name)
		}
		revision = out.RevisionId
	case err != nil:
		return "", r.translate(ctx, err, "create state machine "+name)
	}

	publish := &awssfn.PublishStateMachineVersionInput{
		StateMachineArn: aws.String(arn),
		RevisionId:      revision, // nil after a create: publish the current (first) revision
		Description:     aws.String(truncate(what, 256)),
	}
	pub, err := r.api.PublishStateMachineVersion(ctx, publish)
	var quota *types.ServiceQuotaExceededException
	if errors.As(err, &quota) {
		// 1,000 versions: make room (a crashed deploy may have skipped its
		// pruning) and publish again.
		r.log.WarnContext(ctx, "sfn: version quota reached, pruning", "stateMachine", name)
		if perr := r.prune(ctx, arn, express, ""); perr != nil {
			return "", r.translate(ctx, perr, "prune versions of "+name)
		}
		pub, err = r.api.PublishStateMachineVersion(ctx, publish)
	}
	if err != nil {
		return "", r.translate(ctx, err, "publish a version of "+name)
	}
	if pub.StateMachineVersionArn == nil || *pub.StateMachineVersionArn == "" {
		return "", r.translate(ctx, errors.New("PublishStateMachineVersion returned no version ARN"), "publish a version of "+name)
	}
	versionARN := *pub.StateMachineVersionArn
	routes := []types.RoutingConfigurationListItem{{StateMachineVersionArn: pub.StateMachineVersionArn, Weight: 100}}
	_, err = r.api.CreateStateMachineAlias(ctx, &awssfn.CreateStateMachineAliasInput{
		Name:                 aws.String(Alias),
		Description:          aws.String("The published version Switchboard starts executions on"),
		RoutingConfiguration: routes,
	})
	var conflict *types.ConflictException
	switch {
	case errors.As(err, &conflict):
		// the alias exists with another routing: move it
		if _, err := r.api.UpdateStateMachineAlias(ctx, &awssfn.UpdateStateMachineAliasInput{
			StateMachineAliasArn: aws.String(arn + ":" + Alias),
			RoutingConfiguration: routes,
		}); err != nil {
			return "", r.translate(ctx, err, "update alias of "+name)
		}
	case err != nil:
		return "", r.translate(ctx, err, "create alias of "+name)
	}
	if err := r.prune(ctx, arn, express, versionARN); err != nil {
		// The version is deployed; pruning is retried by the next deploy.
		r.log.WarnContext(ctx, "sfn: could not prune old versions", "stateMachine", name, "error", err)
	}
	r.log.InfoContext(ctx, "workflow deployed", "workflow", v.WorkflowID, "version", v.Number, "stateMachine", name,
		"type", string(typ), "stateMachineVersion", versionARN)
	return versionARN, nil
}

// prune deletes the machine's published versions beyond the KeepVersions
// newest, except keep (the version just published) and, for Standard
// machines, versions with a RUNNING execution (ListExecutions on the
// version ARN; Step Functions does not list Express executions, and
// deleting a version does not stop executions already running on it). A
// version an alias still points at is refused by Step Functions
// (ConflictException) and kept.
func (r *Runner) prune(ctx context.Context, machineARN string, express bool, keep string) error {
	type version struct {
		arn string
		n   int
	}
	var versions []version
	var token *string
	for {
		out, err := r.api.ListStateMachineVersions(ctx, &awssfn.ListStateMachineVersionsInput{StateMachineArn: aws.String(machineARN), NextToken: token, MaxResults: 1000})
		if err != nil {
			return err
		}
		for _, it := range out.StateMachineVersions {
			a := aws.ToString(it.StateMachineVersionArn)
			n, err := strconv.Atoi(a[strings.LastIndexByte(a, ':')+1:])
			if err != nil {
				continue
			}
			versions = append(versions, version{a, n})
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i].n > versions[j].n })
	for i, v := range versions {
		if i < KeepVersions || v.arn == keep {
			continue
		}
		if !express {
			out, err := r.api.ListExecutions(ctx, &awssfn.ListExecutionsInput{StateMachineArn: aws.String(v.arn), StatusFilter: types.ExecutionStatusRunning, MaxResults: 1})
			if err != nil {
				return err
			}
			if len(out.Executions) > 0 {
				continue
			}
		}
		_, err := r.api.DeleteStateMachineVersion(ctx, &awssfn.DeleteStateMachineVersionInput{StateMachineVersionArn: aws.String(v.arn)})
		var conflict *types.ConflictException
		if errors.As(err, &conflict) {
			continue // an alias points at it, or a concurrent publish
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Start starts an execution on the workflow's live alias. Starting a name
// that exists is not an error: Step Functions answers a Standard machine's
// same name and input with the existing execution, and a different input
// (or an execution that has ended) with ExecutionAlreadyExists, which is
// logged as a duplicate and ignored.
func (r *Runner) Start(ctx context.Context, req flows.StartRequest) error {
	if err := r.needStart(); err != nil {
		return err
	}
	if req.WorkflowID == "" {
		return routing.Invalid("workflowId", "workflowId is required")
	}
	if !validExecutionName(req.Name) {
		return routing.Invalid("name", "execution name %q must be 1-80 letters, digits, - or _", req.Name)
	}
	input := req.Input
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("{}")
	}
	if len(input) > workflow.MaxPayloadSize {
		return routing.Invalid("input", "the execution input is %d bytes, more than Step Functions' limit of %d", len(input), workflow.MaxPayloadSize)
	}
	// The exact version the store recorded; the alias only for versions
	// published before RunnerRef existed (an alias update is eventually
	// consistent: a start right after a publish may still reach the old one).
	target := req.RunnerRef
	if target == "" {
		target = r.AliasARN(req.WorkflowID, req.Express)
	}
	out, err := r.api.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(target),
		Name:            aws.String(req.Name),
		Input:           aws.String(string(input)),
	})
	var dup *types.ExecutionAlreadyExists
	if errors.As(err, &dup) {
		r.log.InfoContext(ctx, "execution already started", "execution", req.Name, "workflow", req.WorkflowID, "version", req.Version)
		return nil
	}
	if err != nil {
		return r.translate(ctx, err, "start execution "+req.Name)
	}
	r.log.DebugContext(ctx, "execution started", "execution", aws.ToString(out.ExecutionArn))
	return nil
}

// SendTaskSuccess completes a .waitForTaskToken task with output.
func (r *Runner) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if token == "" {
		return routing.Invalid("token", "a task token is required")
	}
	if len(bytes.TrimSpace(output)) == 0 {
		output = json.RawMessage("{}")
	}
	if !json.Valid(output) {
		return routing.Invalid("output", "the task output is not valid JSON")
	}
	_, err := r.api.SendTaskSuccess(ctx, &awssfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return r.translate(ctx, err, "send task success")
}

// SendTaskFailure fails a .waitForTaskToken task with an error name and cause.
func (r *Runner) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if token == "" {
		return routing.Invalid("token", "a task token is required")
	}
	in := &awssfn.SendTaskFailureInput{TaskToken: aws.String(token)}
	if errName != "" {
		in.Error = aws.String(truncate(errName, 256))
	}
	if cause != "" {
		in.Cause = aws.String(truncate(cause, 32768))
	}
	_, err := r.api.SendTaskFailure(ctx, in)
	return r.translate(ctx, err, "send task failure")
}

func validExecutionName(s string) bool {
	if s == "" || len(s) > MaxNameLength {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// throttles are AWS error codes that mean "try again later".
var throttles = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "ServiceUnavailable": true, "InternalServerError": true,
	"InternalFailure": true,
}

// translate turns a Step Functions error into a *routing.Error, logging the
// detail that clients never see.
func (r *Runner) translate(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	var re *routing.Error
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return routing.Errorf(routing.CodeUnavailable, "the workflow service did not answer in time")
	}
	var (
		taskGone    *types.TaskDoesNotExist
		timedOut    *types.TaskTimedOut
		badToken    *types.InvalidToken
		noMachine   *types.StateMachineDoesNotExist
		noResource  *types.ResourceNotFound
		deleting    *types.StateMachineDeleting
		conflict    *types.ConflictException
		badDef      *types.InvalidDefinition
		badInput    *types.InvalidExecutionInput
		badOutput   *types.InvalidOutput
		badName     *types.InvalidName
		execLimit   *types.ExecutionLimitExceeded
		smLimit     *types.StateMachineLimitExceeded
		quota       *types.ServiceQuotaExceededException
		validation  *types.ValidationException
		badArn      *types.InvalidArn
		badLogging  *types.InvalidLoggingConfiguration
		badTracing  *types.InvalidTracingConfiguration
		typeUnsupp  *types.StateMachineTypeNotSupported
		missingParm *types.MissingRequiredParameter
	)
	switch {
	case errors.As(err, &taskGone), errors.As(err, &badToken):
		return routing.NotFound("task token", "(redacted)")
	case errors.As(err, &timedOut):
		return routing.Conflict(ReasonTaskEnded, "the workflow task has already ended (timed out, or its execution stopped)")
	case errors.As(err, &noMachine), errors.As(err, &noResource):
		return routing.Errorf(routing.CodeNotFound, "the workflow is not deployed (%s)", what)
	case errors.As(err, &deleting):
		return routing.Errorf(routing.CodeUnavailable, "the workflow's state machine is being deleted; try again in a minute")
	case errors.As(err, &conflict):
		return routing.Conflict(routing.ReasonVersion, "the workflow was changed concurrently (%s); try again", what)
	case errors.As(err, &badDef):
		r.log.ErrorContext(ctx, "sfn: definition refused", "call", what, "error", err)
		return routing.Invalid("asl", "Step Functions refused the workflow definition: %s", badDef.ErrorMessage())
	case errors.As(err, &badInput):
		return routing.Invalid("input", "the execution input is not valid (JSON, at most 256 KB)")
	case errors.As(err, &badOutput):
		return routing.Invalid("output", "the task output is not valid (JSON, at most 256 KB)")
	case errors.As(err, &badName):
		return routing.Invalid("name", "Step Functions refused the name (%s)", what)
	case errors.As(err, &execLimit), errors.As(err, &smLimit), errors.As(err, &quota):
		r.log.ErrorContext(ctx, "sfn: quota reached", "call", what, "error", err)
		return routing.Errorf(routing.CodeUnavailable, "a Step Functions quota is reached (%s)", what)
	case errors.As(err, &validation), errors.As(err, &badArn), errors.As(err, &badLogging),
		errors.As(err, &badTracing), errors.As(err, &typeUnsupp), errors.As(err, &missingParm):
		r.log.ErrorContext(ctx, "sfn: request refused", "call", what, "error", err)
		return routing.Errorf(routing.CodeInternal, "the workflow service refused the request")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if throttles[api.ErrorCode()] {
			return routing.Errorf(routing.CodeUnavailable, "the workflow service is busy, try again")
		}
		if api.ErrorCode() == "AccessDeniedException" {
			r.log.ErrorContext(ctx, "sfn: access denied", "call", what, "error", err)
			return routing.Errorf(routing.CodeInternal, "the workflow service refused the request")
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		r.log.WarnContext(ctx, "sfn: network error", "call", what, "error", err)
		return routing.Errorf(routing.CodeUnavailable, "the workflow service is unreachable, try again")
	}
	r.log.ErrorContext(ctx, "sfn: unexpected error", "call", what, "error", err)
	return routing.Errorf(routing.CodeInternal, "workflow service failure")
}
