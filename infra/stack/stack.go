package stack

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
)

// Logical ids that stay fixed whatever the construct tree looks like, so that
// `sam local invoke <LogicalId>`, dashboards and tests can name them.
var functionLogicalIDs = map[string]string{
	deployenv.API:        "ApiFunction",
	deployenv.Webhooks:   "WebhooksFunction",
	deployenv.Dispatcher: "DispatcherFunction",
	deployenv.Task:       "TaskFunction",
	deployenv.Sweeper:    "SweeperFunction",
	deployenv.Relay:      "RelayFunction",
}

// FunctionLogicalID returns the CloudFormation logical id of a function
// (e.g. "ApiFunction" for "api").
func FunctionLogicalID(name string) string { return functionLogicalIDs[name] }

// Table key and index attribute names (all strings).
const (
	TablePartitionKey = "pk"
	TableSortKey      = "sk"
	TableTTLAttribute = "ttl"
)

// RelayMaxIteratorAgeMillis is the relay's IteratorAge (the age of the last
// record it read from the stream) above which an alarm fires.
const RelayMaxIteratorAgeMillis = 5 * 60 * 1000

// TableIndexes are the global secondary indexes; index gsiN has keys
// gsiNpk/gsiNsk and projects keys only (shared/store/dynamo.TableSchema).
var TableIndexes = []string{"gsi1", "gsi2", "gsi3", "gsi4", "gsi5"}

// Build reads the props from the app's context, adds the stack to the app and
// applies the cdk-nag AwsSolutions checks to the whole app. infra/main.go and
// the tests both go through it.
func Build(app awscdk.App) (awscdk.Stack, error) {
	props, err := PropsFromContext(app.Node())
	if err != nil {
		return nil, err
	}
	st := New(app, StackID(app.Node()), props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return st, nil
}

// New defines the Switchboard stack. It panics when props do not validate
// (see Props.Validate); Build returns that error instead.
func New(scope constructs.Construct, id string, props Props) awscdk.Stack {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("Switchboard: conversation routing engine (HTTP API, Lambda, EventBridge, Step Functions, DynamoDB)")
	}
	b := &builder{props: props, stack: awscdk.NewStack(scope, jsii.String(id), &sp)}
	b.build()
	return b.stack
}

type builder struct {
	props Props
	stack awscdk.Stack

	removal   awscdk.RemovalPolicy
	retention awslogs.RetentionDays

	table          awsdynamodb.Table
	bus            awsevents.EventBus
	eventDLQ       awssqs.Queue
	dispatcherDLQ  awssqs.Queue
	relayDLQ       awssqs.Queue
	smRole         awsiam.Role
	smLogGroup     awslogs.LogGroup
	smArn          *string
	smArnPrefix    *string // every workflow state machine's ARN starts with it
	smExecutionArn *string
	secretsArn     *string
	fns            map[string]awslambda.Function
	roles          map[string]awsiam.Role
	api            awsapigatewayv2.HttpApi
	stage          awsapigatewayv2.HttpStage
}

func (b *builder) build() {
	b.removal = awscdk.RemovalPolicy_RETAIN
	if b.props.Destroy {
		b.removal = awscdk.RemovalPolicy_DESTROY
	}
	b.retention = retentionDays[b.props.LogRetentionDays]
	b.fns = map[string]awslambda.Function{}
	b.roles = map[string]awsiam.Role{}

	b.smArn = b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(b.props.StateMachinePrefix + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	b.smExecutionArn = b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"),
		ResourceName: jsii.String(b.props.StateMachinePrefix + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	b.secretsArn = b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("secretsmanager"), Resource: jsii.String("secret"),
		ResourceName: jsii.String(b.props.SecretsPrefix + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})

	b.dataAndEvents()
	b.stateMachineSupport()
	b.functions()
	b.eventRouting()
	b.httpAPI()
	b.alarms()
	b.outputs()
}

// dataAndEvents: the single table, the bus, its archive and the DLQs.
func (b *builder) dataAndEvents() {
	st := b.stack
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	b.table = awsdynamodb.NewTable(st, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str(TablePartitionKey),
		SortKey:      str(TableSortKey),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: jsii.String(TableTTLAttribute),
		RemovalPolicy:       b.removal,
		DeletionProtection:  jsii.Bool(!b.props.Destroy),
		// The transactional outbox: the relay function reads the outbox
		// items' inserts from the stream.
		Stream: awsdynamodb.StreamViewType_NEW_IMAGE,
	})
	for _, idx := range TableIndexes {
		b.table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(idx),
			PartitionKey:   str(idx + "pk"),
			SortKey:        str(idx + "sk"),
			ProjectionType: awsdynamodb.ProjectionType_KEYS_ONLY,
		})
	}

	b.bus = awsevents.NewEventBus(st, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(b.props.EventBusName),
		Description:  jsii.String("Switchboard domain events"),
	})
	var archiveRetention awscdk.Duration
	if b.props.ArchiveRetentionDays > 0 {
		archiveRetention = awscdk.Duration_Days(jsii.Number(b.props.ArchiveRetentionDays))
	}
	b.bus.Archive(jsii.String("Archive"), &awsevents.BaseArchiveProps{
		Description: jsii.String("Every event of the Switchboard bus, for replay"),
		// An archive needs a pattern; the account matches every event on the bus.
		EventPattern: &awsevents.EventPattern{Account: &[]*string{st.Account()}},
		Retention:    archiveRetention,
	})

	newDLQ := func(id string) awssqs.Queue {
		q := awssqs.NewQueue(st, jsii.String(id), &awssqs.QueueProps{
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
		cdknag.NagSuppressions_AddResourceSuppressions(q, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SQS3"),
			Reason: jsii.String("This queue is itself a dead-letter queue (EventBridge target DLQ, Lambda asynchronous-invocation DLQ, or the on-failure destination of the relay's stream event source mapping); a DLQ of a DLQ would only hide failures. Its depth is alarmed."),
		}}, jsii.Bool(true))
		return q
	}
	// Events EventBridge could not deliver to a target (dispatcher rule, sweeper schedule).
	b.eventDLQ = newDLQ("EventDeliveryDlq")
	// Asynchronous dispatcher invocations that failed after Lambda's retries.
	b.dispatcherDLQ = newDLQ("DispatcherDlq")
	// Stream batches the relay could not publish after the event source
	// mapping's retries (the record positions, to read back from the stream).
	b.relayDLQ = newDLQ("RelayDlq")
}

// stateMachineSupport: the role and log group of the workflow state machines
// the api function creates at runtime.
func (b *builder) stateMachineSupport() {
	st := b.stack
	b.smLogGroup = awslogs.NewLogGroup(st, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{
		// Step Functions recommends the /aws/vendedlogs/ prefix (log resource policy size).
		LogGroupName:  awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("/aws/vendedlogs/states/"), st.StackName(), jsii.String("-workflows")}),
		Retention:     b.retention,
		RemovalPolicy: b.removal,
	})
	b.smRole = awsiam.NewRole(st, jsii.String("StateMachineRole"), &awsiam.RoleProps{
		Description: jsii.String("Role of the workflow state machines created at runtime under the name prefix " + b.props.StateMachinePrefix),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": st.Account()},
				"ArnLike":      map[string]interface{}{"aws:SourceArn": b.smArn},
			},
		}),
	})
	b.smRole.AddToPolicy(logDeliveryStatement())
	b.smRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("XRayTracing"),
		Actions: jsii.Strings("xray:PutTraceSegments", "xray:PutTelemetryRecords",
			"xray:GetSamplingRules", "xray:GetSamplingTargets"),
		Resources: jsii.Strings("*"),
	}))
}

// logDeliveryStatement: the CloudWatch Logs vended-log delivery actions Step
// Functions needs to log to a log group; none supports resource-level permissions.
func logDeliveryStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("StepFunctionsLogDelivery"),
		Actions: jsii.Strings("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
			"logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
			"logs:DescribeResourcePolicies", "logs:DescribeLogGroups"),
		Resources: jsii.Strings("*"),
	})
}

type functionSpec struct {
	name        string
	description string
	timeout     float64 // seconds
	env         map[string]*string
	async       *asyncConfig
}

type asyncConfig struct {
	retries   float64
	maxAge    awscdk.Duration
	deadQueue awssqs.IQueue
}

func (b *builder) functions() {
	p := b.props
	common := func(extra map[string]*string) map[string]*string {
		env := map[string]*string{
			deployenv.TableName:    b.table.TableName(),
			deployenv.EventBusName: b.bus.EventBusName(),
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	session := map[string]*string{
		deployenv.SessionHours:          jsii.String(strconv.Itoa(p.SessionHours)),
		deployenv.SessionWarningMinutes: jsii.String(strconv.Itoa(p.SessionWarningMinutes)),
	}
	secrets := map[string]*string{deployenv.SecretsPrefix: jsii.String(p.SecretsPrefix)}
	// Not on the api function: people editing configuration there read their
	// own changes at once.
	configCache := map[string]*string{deployenv.ConfigCacheSeconds: jsii.String(strconv.Itoa(p.ConfigCacheSeconds))}
	smArnPrefix := b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("stateMachine"),
		ResourceName: jsii.String(p.StateMachinePrefix), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	b.smArnPrefix = smArnPrefix
	merge := func(ms ...map[string]*string) map[string]*string {
		out := map[string]*string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return common(out)
	}

	// The task function comes first: the api function's environment names it.
	b.newFunction(functionSpec{
		name:        deployenv.Task,
		description: "Switchboard workflow task: runs the steps of workflow state machines",
		timeout:     60,
		env:         merge(secrets, configCache),
	})
	b.newFunction(functionSpec{
		name:        deployenv.API,
		description: "Switchboard HTTP API (every route but the webhooks)",
		timeout:     29, // API Gateway's integration timeout is 30 s
		env: merge(secrets, session, map[string]*string{
			deployenv.TaskFunctionARN:       b.fns[deployenv.Task].FunctionArn(),
			deployenv.StateMachineRoleARN:   b.smRole.RoleArn(),
			deployenv.StateMachinePrefix:    jsii.String(p.StateMachinePrefix),
			deployenv.StateMachineARNPrefix: smArnPrefix,
			deployenv.StateMachineLogGroup:  b.smLogGroup.LogGroupArn(),
		}),
	})
	b.newFunction(functionSpec{
		name:        deployenv.Webhooks,
		description: "Switchboard provider webhooks: verify, dedupe, store, publish",
		timeout:     10,
		env:         merge(secrets, configCache),
	})
	b.newFunction(functionSpec{
		name:        deployenv.Dispatcher,
		description: "Switchboard dispatcher: EventBridge events (workflow triggers, pending-queue drains)",
		timeout:     60,
		env: merge(secrets, session, configCache, map[string]*string{
			deployenv.StateMachinePrefix:    jsii.String(p.StateMachinePrefix),
			deployenv.StateMachineARNPrefix: smArnPrefix,
		}),
		async: &asyncConfig{retries: 2, maxAge: awscdk.Duration_Hours(jsii.Number(6)), deadQueue: b.dispatcherDLQ},
	})
	b.newFunction(functionSpec{
		name:        deployenv.Sweeper,
		description: "Switchboard sweeper: agent session warnings and expiry, every minute",
		timeout:     55,
		env:         merge(session, configCache),
		// A failed sweep is redone by the next one a minute later.
		async: &asyncConfig{retries: 0, maxAge: awscdk.Duration_Minutes(jsii.Number(1))},
	})
	b.newFunction(functionSpec{
		name:        deployenv.Relay,
		description: "Switchboard outbox relay: the table's stream (outbox items) to the EventBridge bus",
		timeout:     60,
		env:         merge(),
	})
	// The relay reads the stream in order per shard and reports the first
	// record it could not publish (ReportBatchItemFailures), so a retry
	// starts there; after 10 retries (or 6 hours) the batch's positions go
	// to the RelayDlq (alarmed) rather than block the shard for the stream's
	// 24 hours.
	b.fns[deployenv.Relay].AddEventSource(awslambdaeventsources.NewDynamoEventSource(b.table, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:               jsii.Number(100),
		MaxBatchingWindow:       awscdk.Duration_Millis(jsii.Number(0)),
		ParallelizationFactor:   jsii.Number(1),
		ReportBatchItemFailures: jsii.Bool(true),
		RetryAttempts:           jsii.Number(10),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(b.relayDLQ),
		// The outbox travels in two kinds of items (shared/store/dynamo
		// outbox.go): outbox items, and timeline entries that carry their
		// commit's events in an "outbox" attribute. Either filter passes.
		Filters: &[]*map[string]interface{}{
			awslambda.FilterCriteria_Filter(&map[string]interface{}{
				"eventName": awslambda.FilterRule_IsEqual(jsii.String("INSERT")),
				"dynamodb":  map[string]interface{}{"Keys": map[string]interface{}{"pk": map[string]interface{}{"S": awslambda.FilterRule_BeginsWith(jsii.String("OUTBOX#"))}}},
			}),
			awslambda.FilterCriteria_Filter(&map[string]interface{}{
				"eventName": awslambda.FilterRule_IsEqual(jsii.String("INSERT")),
				"dynamodb":  map[string]interface{}{"NewImage": map[string]interface{}{"outbox": map[string]interface{}{"S": awslambda.FilterRule_Exists()}}},
			}),
		},
	}))

	// Data: every function but the relay reads and writes the table. Events:
	// only the relay publishes; the others write their events to the outbox
	// in their commits.
	for _, name := range deployenv.Functions {
		if name != deployenv.Relay {
			b.table.GrantReadWriteData(b.fns[name])
		}
	}
	b.bus.GrantPutEventsTo(b.fns[deployenv.Relay], nil)
	// Provider credentials: only the functions that talk to providers.
	for _, name := range []string{deployenv.API, deployenv.Webhooks, deployenv.Dispatcher, deployenv.Task} {
		b.roles[name].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ProviderSecrets"),
			Actions:   jsii.Strings("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
			Resources: &[]*string{b.secretsArn},
		}))
	}
	// PUT /v1/channels/{id}/secret: the api function writes channel secrets
	// under the same prefix.
	b.roles[deployenv.API].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteChannelSecrets"),
		Actions:   jsii.Strings("secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"),
		Resources: &[]*string{b.secretsArn},
	}))

	// Step Functions.
	sm := []*string{b.smArn}
	apiRole := b.roles[deployenv.API]
	apiRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ManageWorkflowStateMachines"),
		Actions: jsii.Strings(
			"states:CreateStateMachine", "states:UpdateStateMachine", "states:DescribeStateMachine",
			"states:PublishStateMachineVersion", "states:ListStateMachineVersions",
			"states:CreateStateMachineAlias", "states:UpdateStateMachineAlias",
			"states:DescribeStateMachineAlias", "states:ListStateMachineAliases", "states:TagResource",
			"states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure",
		),
		Resources: &sm,
	}))
	apiRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DescribeWorkflowExecutions"),
		Actions:   jsii.Strings("states:DescribeExecution"),
		Resources: &[]*string{b.smExecutionArn},
	}))
	apiRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PassStateMachineRole"),
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: &[]*string{b.smRole.RoleArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"iam:PassedToService": "states.amazonaws.com"},
		},
	}))
	// Creating or updating a state machine with a logging configuration is
	// authorised against the caller too.
	apiRole.AddToPrincipalPolicy(logDeliveryStatement())

	b.roles[deployenv.Dispatcher].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RunWorkflows"),
		Actions:   jsii.Strings("states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure"),
		Resources: &sm,
	}))
	b.roles[deployenv.Task].AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("AnswerWorkflowTasks"),
		Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure"),
		Resources: &sm,
	}))
	// The state machines may invoke the task function only.
	b.fns[deployenv.Task].GrantInvoke(b.smRole)

	b.suppressRoleWildcards()
}

func (b *builder) newFunction(spec functionSpec) {
	st := b.stack
	id := functionLogicalIDs[spec.name]
	logGroup := awslogs.NewLogGroup(st, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     b.retention,
		RemovalPolicy: b.removal,
	})
	role := awsiam.NewRole(st, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the " + spec.name + " function"),
	})
	// Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this
	// function's own log group only.
	logGroup.GrantWrite(role)

	props := &awslambda.FunctionProps{
		Description:           jsii.String(spec.description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(b.props.AssetDir, spec.name)), nil),
		MemorySize:            jsii.Number(b.props.MemorySize),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(spec.timeout)),
		Tracing:               awslambda.Tracing_ACTIVE,
		LogGroup:              logGroup,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Role:                  role,
		Environment:           &spec.env,
	}
	if spec.async != nil {
		props.RetryAttempts = jsii.Number(spec.async.retries)
		props.MaxEventAge = spec.async.maxAge
		if spec.async.deadQueue != nil {
			props.DeadLetterQueue = spec.async.deadQueue
		}
	}
	fn := awslambda.NewFunction(st, jsii.String(id), props)
	fn.Node().DefaultChild().(awslambda.CfnFunction).OverrideLogicalId(jsii.String(id))
	b.fns[spec.name] = fn
	b.roles[spec.name] = role
}

// suppressRoleWildcards records, per role, why each wildcard IAM5 finds is needed.
func (b *builder) suppressRoleWildcards() {
	p := b.props
	tableIndex := regexSuppression(`^Resource::<Table[0-9A-F]{8}\.Arn>/index/\*$`)
	xray := "Resource::*"
	smWildcard := regexSuppression(`^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:(stateMachine|execution):` +
		regexp.QuoteMeta(p.StateMachinePrefix) + `\*$`)
	secrets := regexSuppression(`^Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:` +
		regexp.QuoteMeta(p.SecretsPrefix) + `\*$`)

	for _, name := range deployenv.Functions {
		starReason := "Resource * only for actions without resource-level permissions: X-Ray xray:PutTraceSegments/PutTelemetryRecords (active tracing)."
		switch name {
		case deployenv.API:
			starReason = "Resource * only for actions without resource-level permissions: X-Ray xray:PutTraceSegments/PutTelemetryRecords (active tracing) " +
				"and the CloudWatch Logs log-delivery actions Step Functions checks when the api creates a state machine with logging."
		case deployenv.Relay:
			starReason = "Resource * only for actions without resource-level permissions: X-Ray xray:PutTraceSegments/PutTelemetryRecords (active tracing) " +
				"and dynamodb:ListStreams (the event source mapping's stream read; the stream's own actions are granted on this table's stream only)."
		}
		s := []*cdknag.NagPackSuppression{
			{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String("Queries of the single-table design use its global secondary indexes (gsi1-gsi5); the grant covers <table>/index/* of this table only."),
				AppliesTo: &[]interface{}{tableIndex},
			},
			{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String(starReason),
				AppliesTo: &[]interface{}{xray},
			},
		}
		switch name {
		case deployenv.API, deployenv.Dispatcher, deployenv.Task:
			s = append(s, &cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("Workflow state machines are created at runtime when a workflow is published, so their names are only known by the prefix " +
					p.StateMachinePrefix + "; the grant is limited to state machines, versions, aliases and executions under that prefix in this account and region."),
				AppliesTo: &[]interface{}{smWildcard},
			})
		}
		switch name {
		case deployenv.API, deployenv.Webhooks, deployenv.Dispatcher, deployenv.Task:
			s = append(s, &cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("Provider credentials are stored by operators as Secrets Manager secrets named " + p.SecretsPrefix +
					"<channel>; Secrets Manager appends a random suffix to secret ARNs, so only a prefix can name them. Read-only, but for the api function, which writes them (PUT /v1/channels/{id}/secret)."),
				AppliesTo: &[]interface{}{secrets},
			})
		}
		cdknag.NagSuppressions_AddResourceSuppressions(b.roles[name], &s, jsii.Bool(true))
	}

	cdknag.NagSuppressions_AddResourceSuppressions(b.smRole, &[]*cdknag.NagPackSuppression{
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("The state machines invoke the task function through its versions and aliases too (<function ARN>:*); that is the only function they may invoke."),
			AppliesTo: &[]interface{}{regexSuppression(`^Resource::<TaskFunction\.Arn>:\*$`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Resource * only for actions without resource-level permissions: CloudWatch Logs log delivery (logs:CreateLogDelivery and friends, required for state machine logging) and X-Ray tracing."),
			AppliesTo: &[]interface{}{xray},
		},
	}, jsii.Bool(true))
}

func regexSuppression(re string) *cdknag.RegexAppliesTo {
	return &cdknag.RegexAppliesTo{Regex: jsii.String("/" + re + "/")}
}

// eventRouting: the dispatcher rule on the Switchboard bus, the executions'
// end on the default bus, and the sweeper schedule.
func (b *builder) eventRouting() {
	st := b.stack
	rule := awsevents.NewRule(st, jsii.String("DispatchRule"), &awsevents.RuleProps{
		Description:  jsii.String("Every Switchboard event to the dispatcher"),
		EventBus:     b.bus,
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(EventSource)},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(b.fns[deployenv.Dispatcher], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: b.eventDLQ,
		RetryAttempts:   jsii.Number(8),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
	}))

	// Step Functions reports a Standard execution's end on the default bus:
	// the dispatcher records workflow.ended (flows.HandleExecutionStatusChange).
	ended := awsevents.NewRule(st, jsii.String("ExecutionEndRule"), &awsevents.RuleProps{
		Description: jsii.String("The end of every workflow execution (Standard machines) to the dispatcher"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]interface{}{
				"status":          []interface{}{"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"},
				"stateMachineArn": []interface{}{map[string]interface{}{"prefix": b.smArnPrefix}},
			},
		},
	})
	ended.AddTarget(awseventstargets.NewLambdaFunction(b.fns[deployenv.Dispatcher], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: b.eventDLQ,
		RetryAttempts:   jsii.Number(8),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
	}))

	schedule := awsevents.NewRule(st, jsii.String("SweeperSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the sweeper every minute (agent session warnings and expiry)"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
	})
	schedule.AddTarget(awseventstargets.NewLambdaFunction(b.fns[deployenv.Sweeper], &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: b.eventDLQ,
		RetryAttempts:   jsii.Number(2),
		MaxEventAge:     awscdk.Duration_Minutes(jsii.Number(1)),
	}))
}

// accessLogFormat is the JSON line API Gateway writes per request.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey",` +
	`"path":"$context.path","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage",` +
	`"authorizerError":"$context.authorizer.error","userAgent":"$context.identity.userAgent"}`

func (b *builder) httpAPI() {
	st := b.stack
	p := b.props

	var cors *awsapigatewayv2.CorsPreflightOptions
	if len(p.CorsOrigins) > 0 {
		cors = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(p.CorsOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_ANY},
			AllowHeaders: jsii.Strings("authorization", "content-type", "if-match"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	b.api = awsapigatewayv2.NewHttpApi(st, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            st.StackName(),
		Description:        jsii.String("Switchboard HTTP API"),
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight:      cors,
	})
	accessLogs := awslogs.NewLogGroup(st, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     b.retention,
		RemovalPolicy: b.removal,
	})
	b.stage = awsapigatewayv2.NewHttpStage(st, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    b.api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(p.ThrottleRate),
			BurstLimit: jsii.Number(p.ThrottleBurst),
		},
	})
	b.stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})

	var authorizer awsapigatewayv2.IHttpRouteAuthorizer
	if p.OIDCIssuer != "" {
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(p.OIDCIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String("oidc"),
				JwtAudience:    jsii.Strings(p.OIDCAudience...),
			})
	} else {
		authorizer = b.userPool()
	}

	apiIntegration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), b.fns[deployenv.API], nil)
	hooksIntegration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("WebhooksIntegration"), b.fns[deployenv.Webhooks], nil)

	b.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/{proxy+}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: apiIntegration,
		Authorizer:  authorizer,
	})
	health := b.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/health"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Integration: apiIntegration,
	})
	hooks := b.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/v1/webhooks/{provider}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST},
		Integration: hooksIntegration,
	})
	for _, r := range *health {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("GET /v1/health is the public liveness probe; it returns the status and version only."),
		}}, jsii.Bool(true))
	}
	for _, r := range *hooks {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("Provider webhooks (WhatsApp, Messenger, Telegram, Twilio, generic) cannot send our JWTs; the webhooks function verifies each provider's request signature or verification token instead."),
		}}, jsii.Bool(true))
	}
}

// userPool creates the Cognito user pool, its app client and role groups and
// returns the JWT authorizer that trusts them.
func (b *builder) userPool() awsapigatewayv2.IHttpRouteAuthorizer {
	st := b.stack
	p := b.props
	mfa := awscognito.Mfa_REQUIRED
	if p.MFA == "optional" {
		mfa = awscognito.Mfa_OPTIONAL
	}
	plan := awscognito.FeaturePlan_PLUS
	threat := awscognito.StandardThreatProtectionMode_FULL_FUNCTION
	if p.CognitoFeaturePlan == "essentials" {
		plan = awscognito.FeaturePlan_ESSENTIALS
		threat = ""
	}
	poolProps := &awscognito.UserPoolProps{
		SelfSignUpEnabled:   jsii.Bool(false),
		SignInAliases:       &awscognito.SignInAliases{Email: jsii.Bool(true)},
		SignInCaseSensitive: jsii.Bool(false),
		AutoVerify:          &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:    &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			Fullname: &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireDigits:        jsii.Bool(true),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                mfa,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:        plan,
		DeletionProtection: jsii.Bool(!p.Destroy),
		RemovalPolicy:      b.removal,
	}
	if threat != "" {
		poolProps.StandardThreatProtectionMode = threat
	}
	pool := awscognito.NewUserPool(st, jsii.String("UserPool"), poolProps)
	client := pool.AddClient(jsii.String("AppClient"), &awscognito.UserPoolClientOptions{
		AuthFlows:                  &awscognito.AuthFlow{UserPassword: jsii.Bool(true), UserSrp: jsii.Bool(true)},
		GenerateSecret:             jsii.Bool(false),
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})
	for i, role := range []string{"admin", "supervisor", "agent"} {
		awscognito.NewUserPoolGroup(st, jsii.String("Group"+strings.ToUpper(role[:1])+role[1:]), &awscognito.UserPoolGroupProps{
			UserPool:    pool,
			GroupName:   jsii.String(role),
			Description: jsii.String("Switchboard role " + role + " (cognito:groups claim)"),
			Precedence:  jsii.Number(i),
		})
	}
	var s []*cdknag.NagPackSuppression
	if p.CognitoFeaturePlan != "plus" {
		s = append(s, &cdknag.NagPackSuppression{
			Id:     jsii.String("AwsSolutions-COG8"),
			Reason: jsii.String("The operator chose the Essentials feature plan (context cognitoFeaturePlan=essentials) to avoid Plus per-user charges; threat protection is then unavailable."),
		})
	}
	if p.MFA != "required" {
		s = append(s, &cdknag.NagPackSuppression{
			Id:     jsii.String("AwsSolutions-COG2"),
			Reason: jsii.String("The operator made MFA optional (context mfa=optional); users may still enrol a TOTP authenticator."),
		})
	}
	if len(s) > 0 {
		cdknag.NagSuppressions_AddResourceSuppressions(pool, &s, jsii.Bool(true))
	}

	awscdk.NewCfnOutput(st, jsii.String("UserPoolId"), &awscdk.CfnOutputProps{
		Value: pool.UserPoolId(), Description: jsii.String("Cognito user pool of the Switchboard users"),
	})
	awscdk.NewCfnOutput(st, jsii.String("UserPoolClientId"), &awscdk.CfnOutputProps{
		Value: client.UserPoolClientId(), Description: jsii.String("Cognito app client id (the JWT audience)"),
	})
	awscdk.NewCfnOutput(st, jsii.String("JwtIssuer"), &awscdk.CfnOutputProps{
		Value:       jsii.String(fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", *st.Region(), *pool.UserPoolId())),
		Description: jsii.String("Issuer the HTTP API's JWT authorizer trusts"),
	})
	return awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("CognitoAuthorizer"), pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			AuthorizerName:  jsii.String("cognito"),
			UserPoolClients: &[]awscognito.IUserPoolClient{client},
		})
}

func (b *builder) alarms() {
	st := b.stack
	topic := awssns.NewTopic(st, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Switchboard alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	// A topic policy replaces SNS's default policy: let CloudWatch alarms of
	// this account publish.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": st.Account()},
		},
	}))
	if b.props.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(b.props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	alarmAbove := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(st, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             metric,
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}
	alarm := func(id, description string, metric awscloudwatch.IMetric) { alarmAbove(id, description, metric, 0) }
	for _, name := range deployenv.Functions {
		alarm(functionLogicalIDs[name]+"Errors", "The "+name+" function reported errors",
			b.fns[name].MetricErrors(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}))
	}
	alarm("EventDeliveryDlqMessages", "Events EventBridge could not deliver to the dispatcher or sweeper are waiting in the DLQ",
		b.eventDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}))
	alarm("DispatcherDlqMessages", "Dispatcher invocations that failed after retries are waiting in the DLQ",
		b.dispatcherDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}))
	alarm("RelayDlqMessages", "Outbox stream batches the relay could not publish after retries are waiting in the DLQ (their events were not published: replay them from the stream positions in the messages)",
		b.relayDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}))
	// The relay falling behind the stream (throttled, failing, stuck on a
	// record): events wait, and after the stream's 24 hours they are lost.
	alarmAbove("RelayIteratorAge", "The outbox relay is more than 5 minutes behind the table's stream",
		b.fns[deployenv.Relay].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
		RelayMaxIteratorAgeMillis)
	alarm("Api5xx", "The HTTP API answered 5xx",
		b.api.MetricServerError(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}))

	awscdk.NewCfnOutput(st, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Value: topic.TopicArn(), Description: jsii.String("SNS topic of the Switchboard alarms"),
	})
}

func (b *builder) outputs() {
	st := b.stack
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(st, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", "Base URL of the HTTP API (routes start with /v1/)", b.stage.Url())
	out("EventBusName", "EventBridge bus of the Switchboard events", b.bus.EventBusName())
	out("TableName", "DynamoDB table", b.table.TableName())
	out("StateMachineRoleArn", "Role of the workflow state machines", b.smRole.RoleArn())
	out("WorkflowLogGroupArn", "Log group of the workflow state machines", b.smLogGroup.LogGroupArn())
}
