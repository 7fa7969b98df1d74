package core

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
)

// Environment variables Lambda itself sets (the stack's are in deployenv).
const (
	// EnvLogLevel is set by Lambda from the function's application log level.
	EnvLogLevel = "AWS_LAMBDA_LOG_LEVEL"
)

// Env is a function's configuration, read from its environment.
type Env struct {
	Function              string // one of deployenv.Functions
	TableName             string
	EventBusName          string
	SecretsPrefix         string
	SessionHours          int // 0: the engine's default
	SessionWarningMinutes int // 0: the engine's default
	ConfigCacheSeconds    int // 0: no cache of configuration reads
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
	deployenv.API: {deployenv.TableName, deployenv.EventBusName, deployenv.SecretsPrefix, deployenv.StateMachinePrefix, deployenv.StateMachineARNPrefix,
		deployenv.TaskFunctionARN, deployenv.StateMachineRoleARN, deployenv.StateMachineLogGroup},
	deployenv.Webhooks:   {deployenv.TableName, deployenv.EventBusName, deployenv.SecretsPrefix},
	deployenv.Dispatcher: {deployenv.TableName, deployenv.EventBusName, deployenv.SecretsPrefix, deployenv.StateMachinePrefix, deployenv.StateMachineARNPrefix},
	deployenv.Task:       {deployenv.TableName, deployenv.EventBusName, deployenv.SecretsPrefix},
	deployenv.Sweeper:    {deployenv.TableName, deployenv.EventBusName},
	deployenv.Relay:      {deployenv.EventBusName},
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
		return Env{}, fmt.Errorf("unknown function %q (want one of %s)", function, strings.Join(deployenv.Functions, ", "))
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
		TableName:             get(deployenv.TableName),
		EventBusName:          get(deployenv.EventBusName),
		SecretsPrefix:         get(deployenv.SecretsPrefix),
		SessionHours:          num(deployenv.SessionHours),
		SessionWarningMinutes: num(deployenv.SessionWarningMinutes),
		ConfigCacheSeconds:    num(deployenv.ConfigCacheSeconds),
		TaskFunctionARN:       get(deployenv.TaskFunctionARN),
		StateMachineRoleARN:   get(deployenv.StateMachineRoleARN),
		StateMachinePrefix:    get(deployenv.StateMachinePrefix),
		StateMachineARNPrefix: get(deployenv.StateMachineARNPrefix),
		StateMachineLogGroup:  get(deployenv.StateMachineLogGroup),
		AuthSubjectClaim:      get(deployenv.AuthSubjectClaim),
		LogLevel:              strings.ToUpper(get(EnvLogLevel)),
	}
	if e.AuthSubjectClaim == "" {
		e.AuthSubjectClaim = "sub"
	}
	if e.StateMachinePrefix != "" && e.StateMachineARNPrefix != "" && !strings.HasSuffix(e.StateMachineARNPrefix, ":stateMachine:"+e.StateMachinePrefix) {
		problems = append(problems, deployenv.StateMachineARNPrefix+" does not end with :stateMachine:<"+deployenv.StateMachinePrefix+">")
	}
	if len(problems) > 0 {
		return e, fmt.Errorf("%s function configuration: %s", function, strings.Join(problems, "; "))
	}
	return e, nil
}
