// Package asl is Switchboard's embedded runner for Amazon States Language
// (ASL) state machines: the same definitions the workflow compiler deploys to
// AWS Step Functions run here, in process, on an injected clock, with their
// executions kept in a RunStore (in memory here; in a bbolt file with
// shared/store/bolt/aslruns).
//
// # Why a subset
//
// The runner implements what Switchboard's generated machines use, with Step
// Functions semantics, and rejects the rest at Parse time with an error that
// names the state and field, so a definition either runs the same way here
// as on AWS or does not run at all. The reference is AWS Step Functions; the
// aws-local-stepfunctions harness in subpackage sfnlocal checks that both
// agree on concrete machines.
//
// # Supported
//
//   - Query language JSONPath only (QueryLanguage, if present, must be
//     "JSONPath"; JSONata, Assign and variables are rejected).
//   - Top level: StartAt, States, Comment, Version, TimeoutSeconds (the
//     execution times out with status TIMED_OUT).
//   - States: Task, Pass (Result, Parameters), Wait (Seconds, SecondsPath,
//     Timestamp, TimestampPath), Choice (Choices, Default), Succeed, Fail
//     (Error, ErrorPath, Cause, CausePath). Parallel and Map are rejected.
//   - Choice rules: And, Or, Not; String*, Numeric*, Timestamp* comparisons
//     (Equals, LessThan, GreaterThan, LessThanEquals, GreaterThanEquals) and
//     their *Path forms; StringMatches; BooleanEquals(Path); IsPresent,
//     IsNull, IsString, IsNumeric, IsBoolean, IsTimestamp. A comparison whose
//     variable has the wrong type is false; a variable path that selects
//     nothing fails the execution with States.Runtime (except IsPresent).
//   - Input and output processing in AWS order: InputPath, Parameters,
//     (task), ResultSelector, ResultPath (null keeps the input; missing
//     objects along the path are created), OutputPath. In Parameters and
//     ResultSelector, "key.$" fields take a path into the input, a "$$." path
//     into the context object (Execution.Id/Name/Input/StartTime,
//     State.Name/EnteredTime/RetryCount, StateMachine.Id/Name, Task.Token)
//     or an intrinsic function.
//   - Paths: $, $.a.b, $['a'], $.a[0] (negative indexes count from the
//     end), and the [*] / .* wildcards outside ResultPath. Filters, slices
//     and recursive descent are rejected.
//   - Intrinsics: States.Format, StringToJson, JsonToString, Array,
//     ArrayPartition, ArrayContains, ArrayRange, ArrayGetItem, ArrayLength,
//     ArrayUnique, Base64Encode, Base64Decode, Hash, JsonMerge (shallow),
//     MathAdd, StringSplit and UUID (made from the injected ids.Generator).
//     States.MathRandom is rejected: runs are deterministic.
//   - Retry (ErrorEquals, IntervalSeconds, MaxAttempts, BackoffRate,
//     MaxDelaySeconds, JitterStrategy) and Catch (ErrorEquals, ResultPath,
//     Next; the error output is {"Error": name, "Cause": cause}). States.ALL
//     matches everything but States.Runtime and States.DataLimitExceeded
//     (terminal: nothing retries or catches them); States.TaskFailed matches
//     everything but timeouts; States.Timeout also matches
//     States.HeartbeatTimeout. Back-off waits are timers on the clock, like
//     Wait states.
//   - Tasks call the Invoker. With arn:aws:states:::lambda:invoke the result
//     is wrapped in the Lambda envelope ({"ExecutedVersion", "Payload",
//     "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}). Resources
//     ending in .waitForTaskToken (Lambda or any other) get a task token in
//     $$.Task.Token and Invocation.TaskToken; the execution suspends until
//     SendTaskSuccess (whose output is the task result, no envelope),
//     SendTaskFailure, or TimeoutSeconds / HeartbeatSeconds run out
//     (States.Timeout / States.HeartbeatTimeout). Any other resource: the
//     Invoker's result as is (.sync suffixes are treated like plain calls).
//
// # Limits
//
// As on AWS: an execution input over MaxPayloadSize (262,144 bytes) is
// refused by Start, a SendTaskSuccess output over it by SendTaskSuccess
// (invalid_argument); at run time a state input after Parameters, a task
// result (the Lambda envelope included) or a state output over it fails the
// execution with States.DataLimitExceeded. The definition size limit
// (1,048,576 characters) is the compiler's and the deployer's concern.
//
// # Context object and step keys
//
// $$.State.EnteredTime is the time the state was entered, in milliseconds:
// a Retry does not re-enter the state, so every attempt of one entry sees
// the same value (and so does a redelivery of an attempt), as on Step
// Functions. A later entry of the same state always gets a strictly later
// value: if the clock has not moved a millisecond since the previous entry
// (a virtual clock), the execution's logical time is moved on by one. This
// is what makes execution name + state name + EnteredTime a step key.
//
// # Express executions and injected faults
//
// StartInput.Express runs an execution as Express, as AWS documents it:
// starts are not deduplicated by name (a known name runs again, stored
// under "<name>:<id>"; $$.Execution.Name stays the started name), the
// execution ends TIMED_OUT with States.Timeout after ExpressMaxDuration (5
// minutes; no Catch sees it), and task tokens are refused. SetFaults makes
// the runner fail the way Step Functions may: DuplicateDelivery delivers a
// task attempt twice (at-least-once), FailAfterEffect fails an attempt
// whose task succeeded (its response lost), so the Retry re-delivers a task
// whose effect was already committed.
//
// # Executions
//
// A Runner starts executions (idempotently by name), runs them synchronously
// until they end or must wait, and resumes them with RunDue when their timer
// is due or with SendTaskSuccess/SendTaskFailure. Each execution resumes at
// the logical time its timer was due, so moving a virtual clock forward by
// hours and calling RunDue once settles every chain of Waits and retries in
// between, in time order. Histories use the event names of
// GetExecutionHistory and are capped at 25,000 events, beyond which the
// execution fails with States.Runtime. Transitions counts what Standard
// Step Functions bills.
//
// Known differences from AWS: an Express execution keeps a history here
// (AWS only logs to CloudWatch); JSON objects are re-encoded with sorted keys
// (visible only through States.JsonToString and Format of objects); the
// Lambda envelope's request id is derived from the execution, state and
// invocation number (see LambdaRequestID); a task token timeout has an empty
// Cause; StartExecution on AWS refuses a name whose execution has already
// ended, while Start returns that execution when the input matches.
package asl
