package core_test

import (
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/shared/aws/deployenv"
	"github.com/switchboard-oss/switchboard/shared/aws/lambdahost/core"
)

// CONFIG_CACHE_SECONDS is optional (0: no cache) on every function the stack
// sets it on; a malformed or negative value is refused, naming the variable.
func TestLoadEnvConfigCacheSeconds(t *testing.T) {
	for _, fn := range []string{deployenv.Webhooks, deployenv.Dispatcher, deployenv.Task, deployenv.Sweeper} {
		env := map[string]string{}
		for _, k := range core.Required(fn) {
			env[k] = "x"
		}
		if fn == deployenv.Dispatcher {
			env[deployenv.StateMachinePrefix] = "sb-"
			env[deployenv.StateMachineARNPrefix] = "arn:aws:states:us-east-1:123456789012:stateMachine:sb-"
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

		e, err := core.LoadEnv(fn, lookup)
		if err != nil || e.ConfigCacheSeconds != 0 {
			t.Errorf("%s without %s: %d, %v; want 0 (off), no error", fn, deployenv.ConfigCacheSeconds, e.ConfigCacheSeconds, err)
		}
		env[deployenv.ConfigCacheSeconds] = " 30 "
		if e, err = core.LoadEnv(fn, lookup); err != nil || e.ConfigCacheSeconds != 30 {
			t.Errorf("%s with %s=30: %d, %v", fn, deployenv.ConfigCacheSeconds, e.ConfigCacheSeconds, err)
		}
		for _, bad := range []string{"x", "-1", "2.5"} {
			env[deployenv.ConfigCacheSeconds] = bad
			if _, err := core.LoadEnv(fn, lookup); err == nil || !strings.Contains(err.Error(), deployenv.ConfigCacheSeconds) {
				t.Errorf("%s with %s=%q: error %v, want one naming the variable", fn, deployenv.ConfigCacheSeconds, bad, err)
			}
		}
	}
}
