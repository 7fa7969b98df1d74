package lambdahost

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Function names: the folders under functions/ and the stack's function names.
const (
	FunctionAPI        = "api"
	FunctionWebhooks   = "webhooks"
	FunctionDispatcher = "dispatcher"
	FunctionTask       = "task"
	FunctionSweeper    = "sweeper"
)

// Functions lists every function.
var Functions = []string{FunctionAPI, FunctionWebhooks, FunctionDispatcher, FunctionTask, FunctionSweeper}

// Environment variables the stack sets (infra/stack: Env*), and
// AUTH_SUBJECT_CLAIM, which operators may add to the api function.
const (
	EnvTableName             = "TABLE_NAME"
	EnvEventBusName          = "EVENT_BUS_NAME"
	EnvSecretsPrefix         = "SECRETS_PREFIX"
	EnvSessionHours          = "SESSION_HOURS"
	EnvSessionWarningMinutes = "SESSION_WARNING_MINUTES"
	EnvTaskFunctionARN       = "TASK_FUNCTION_ARN"
	EnvStateMachineRoleARN   = "STATE_MACHINE_ROLE_ARN"
	EnvStateMachinePrefix    = "STATE_MACHINE_PREFIX"
	EnvStateMachineARNPrefix = "STATE_MACHINE_ARN_PREFIX"
	EnvStateMachineLogGroup  = "STATE_MACHINE_LOG_GROUP_ARN"
	EnvAuthSubjectClaim      = "AUTH_SUBJECT_CLAIM"
	// EnvLogLevel is set by Lambda from the function's application log level.
	EnvLogLevel = "AWS_LAMBDA_LOG_LEVEL"
)

// Env is a function's configuration, read from its environment.
type Env struct {
	Function              string // one of Functions
	TableName             string
	EventBusName          string
	SecretsPrefix         string
	SessionHours          int // 0: the engine's default
	SessionWarningMinutes int // 0: the engine's default
	TaskFunctionARN       string
	StateMachineRoleARN   string
	StateMachinePrefix    string
	StateMachineARNPrefix string
	StateMachineLogGroup  string
	AuthSubjectClaim      string // default "sub"
	LogLevel              string // DEBUG, INFO (default), WARN, ERROR
}

// required lists, per function, the variables it cannot start without:
// exactly what the stack gives it.
var required = map[string][]string{
	FunctionAPI: {EnvTableName, EnvEventBusName, EnvSecretsPrefix, EnvStateMachinePrefix, EnvStateMachineARNPrefix,
		EnvTaskFunctionARN, EnvStateMachineRoleARN, EnvStateMachineLogGroup},
	FunctionWebhooks:   {EnvTableName, EnvEventBusName, EnvSecretsPrefix},
	FunctionDispatcher: {EnvTableName, EnvEventBusName, EnvSecretsPrefix, EnvStateMachinePrefix, EnvStateMachineARNPrefix},
	FunctionTask:       {EnvTableName, EnvEventBusName, EnvSecretsPrefix},
	FunctionSweeper:    {EnvTableName, EnvEventBusName},
}

// Required returns the variables function needs, in order.
func Required(function string) []string { return append([]string(nil), required[function]...) }

// LoadEnv reads function's configuration through lookup (os.LookupEnv when
// nil). The error names every missing or malformed variable.
func LoadEnv(function string, lookup func(string) (string, bool)) (Env, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if _, ok := required[function]; !ok {
		return Env{}, fmt.Errorf("unknown function %q (want one of %s)", function, strings.Join(Functions, ", "))
	}
	get := func(k string) string {
		v, _ := lookup(k)
		return strings.TrimSpace(v)
	}
	var problems []string
	for _, k := range required[function] {
		if get(k) == "" {
			problems = append(problems, k+" is not set")
		}
	}
	num := func(k string) int {
		s := get(k)
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a whole number", k, s))
			return 0
		}
		return n
	}
	e := Env{
		Function:              function,
		TableName:             get(EnvTableName),
		EventBusName:          get(EnvEventBusName),
		SecretsPrefix:         get(EnvSecretsPrefix),
		SessionHours:          num(EnvSessionHours),
		SessionWarningMinutes: num(EnvSessionWarningMinutes),
		TaskFunctionARN:       get(EnvTaskFunctionARN),
		StateMachineRoleARN:   get(EnvStateMachineRoleARN),
		StateMachinePrefix:    get(EnvStateMachinePrefix),
		StateMachineARNPrefix: get(EnvStateMachineARNPrefix),
		StateMachineLogGroup:  get(EnvStateMachineLogGroup),
		AuthSubjectClaim:      get(EnvAuthSubjectClaim),
		LogLevel:              strings.ToUpper(get(EnvLogLevel)),
	}
	if e.AuthSubjectClaim == "" {
		e.AuthSubjectClaim = "sub"
	}
	if e.StateMachinePrefix != "" && e.StateMachineARNPrefix != "" && !strings.HasSuffix(e.StateMachineARNPrefix, ":stateMachine:"+e.StateMachinePrefix) {
		problems = append(problems, EnvStateMachineARNPrefix+" does not end with :stateMachine:<"+EnvStateMachinePrefix+">")
	}
	if len(problems) > 0 {
		return e, fmt.Errorf("%s function configuration: %s", function, strings.Join(problems, "; "))
	}
	return e, nil
}
