// Runs compiled workflows on aws-local-stepfunctions with scripted task
// results, for workflow tests. Reads from stdin a list of runs:
//   [{"definition": <ASL>, "input": <execution input>,
//     "responses": {"<state>": [{"payload": <json>} | {"answer": <json>} | {"error": "Name", "cause": "..."}]}}]
// A Task without a scripted response returns {} (an ask must be scripted).
// Writes a list of {"status", "output", "error", "states": [entered], "calls": [{state, payload}]}.
// Usage: node local-sfn-run.mjs <path to aws-local-stepfunctions main.node.esm.js>
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const { StateMachine } = await import(pathToFileURL(process.argv[2]).href);
const results = [];
for (const req of JSON.parse(readFileSync(0, 'utf8'))) {
  results.push(await runOne(req));
}
process.stdout.write(JSON.stringify(results));

function contextFields(tmpl, stateName) {
  if (Array.isArray(tmpl)) return tmpl.map((v) => contextFields(v, stateName));
  if (tmpl === null || typeof tmpl !== 'object') return tmpl;
  const out = {};
  for (const [k, v] of Object.entries(tmpl)) {
    if (k.endsWith('.$') && v === '$$.State.Name') out[k.slice(0, -2)] = stateName;
    else if (k.endsWith('.$') && v === '$$.State.EnteredTime') out[k.slice(0, -2)] = '2026-01-01T00:00:00.000Z';
    else out[k] = contextFields(v, stateName);
  }
  return out;
}

async function runOne(req) {
const def = structuredClone(req.definition);
const responses = req.responses || {};
const calls = [];
const handlers = {};
const waits = {};
const retries = {};
for (const [name, state] of Object.entries(def.States)) {
  if (state.Type === 'Wait') waits[name] = 0;
  if (state.Retry) retries[name] = state.Retry.map(() => 0);
  if (state.Type !== 'Task') continue;
  const callback = String(state.Resource).endsWith('.waitForTaskToken');
  handlers[name] = async (input) => {
    calls.push({ state: name, payload: input.Payload });
    const queue = responses[name] || [];
    const r = queue.length ? queue.shift() : undefined;
    if (r && r.error) {
      const e = new Error(r.cause || r.error);
      e.name = r.error;
      throw e;
    }
    if (callback) {
      if (!r) throw Object.assign(new Error('no scripted answer'), { name: 'NoAnswer' });
      return r.answer;
    }
    return {
      ExecutedVersion: '$LATEST',
      Payload: r && 'payload' in r ? r.payload : {},
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: 'local' },
      StatusCode: 200,
    };
  };
}
// aws-local-stepfunctions 3.0.0 has no per-state context object: the
// step-key fields "$$.State.Name" and "$$.State.EnteredTime" are replaced by
// the state name and a fixed time (the Go tests check their per-entry values
// on the embedded runner).
for (const [name, state] of Object.entries(def.States)) {
  if (state.Parameters) state.Parameters = contextFields(state.Parameters, name);
}
const sm = new StateMachine(def, { validationOptions: { checkArn: false } });
const execution = sm.run(req.input, {
  overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
  context: { Execution: { Input: req.input, Name: 'test' }, Task: { Token: 'task-token' } },
});
const states = [];
const consume = (async () => {
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered') states.push(ev.state.name);
  }
})();
let out;
try {
  const output = await execution.result;
  out = { status: 'SUCCEEDED', output };
} catch (e) {
  out = { status: 'FAILED', error: e.name, cause: String(e.message) };
}
await consume.catch(() => {});
out.states = states;
out.calls = calls;
return out;
}
