// Validates documents against docs/workflow.schema.json with Ajv (draft
// 2020-12, strict mode except strictRequired, which rejects the standard
// "then: {not: {required: [value]}}" idiom), for workflow tests.
// Usage: node schema-check.mjs <node_modules dir> <schema path> < [doc, ...]
// Writes [{"valid": bool, "errors": [...]}, ...].
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.argv[2] + '/');
const Ajv2020 = require('ajv/dist/2020').default;
const schema = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
const validate = ajv.compile(schema);
const docs = JSON.parse(readFileSync(0, 'utf8'));
const out = docs.map((d) => {
  const valid = validate(d);
  return { valid, errors: valid ? [] : validate.errors.map((e) => `${e.instancePath} ${e.message}`) };
});
process.stdout.write(JSON.stringify(out));
