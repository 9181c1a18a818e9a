import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SchemaProblem {
  path: string;
  message: string;
  params: Record<string, unknown>;
}

/**
 * The process's one Ajv: a schema is compiled once, whoever asks (the project's validation, the
 * input check of a run, the engine client, the activities, the agents), and reused by content. Each
 * compile is generated code, ~10 ms; a cold `compozy run weather` asked for 27 of them. Schemas with
 * a `$id` are not registered by it (addUsedSchema: false): two of a project's schemas may share an
 * id without one refusing the other.
 */
export const SCHEMA_AJV_OPTIONS = { strict: false, allErrors: true, addUsedSchema: false } as const;
// Schemas are checked against their meta-schema by schemaErrors below, before compiling, as Ajv's
// own check would (with the precompiled validator instead of a meta-schema compile).
const ajv = new Ajv({ ...SCHEMA_AJV_OPTIONS, validateSchema: false });

/** The meta-schema a schema without `$schema` is checked against (Ajv's default). */
export const DRAFT_07 = 'http://json-schema.org/draft-07/schema';
/** Its validator, compiled with these options by `npm run build` (scripts/meta-schema.js). */
export const PRECOMPILED_DRAFT_07 = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'platform', 'json-schema-draft-07.cjs');
let draft07: ValidateFunction | null | undefined;

/**
 * The draft-07 meta-schema validator: Ajv's standalone code compiled at build time, so that the
 * first schema a process checks does not compile the meta-schema (~35 ms, on the path to every
 * dev, serve and run start). Before a build has written it, Ajv compiles the meta-schema itself.
 */
function draft07Validator(): ValidateFunction | null {
  draft07 ??= existsSync(PRECOMPILED_DRAFT_07) ? (createRequire(import.meta.url)(PRECOMPILED_DRAFT_07) as ValidateFunction) : null;
  return draft07;
}
const compiled = new Map<string, ValidateFunction>();
/** Schemas kept compiled; past it the least recently used goes (a long watch session edits schemas). */
const MAX_COMPILED = 1000;

/** A top-level `id` is Compozy's schema name (`id: city_input`), not a JSON Schema keyword: left out. */
function bodyOf(schema: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...body } = schema;
  void _id;
  return body;
}

/** What makes `schema` not a valid JSON Schema (draft-07), by the meta-schema; undefined when it is one. */
export function schemaErrors(schema: Record<string, unknown>): ErrorObject[] | undefined {
  const body = bodyOf(schema);
  const meta = body.$schema === undefined || body.$schema === DRAFT_07 || body.$schema === `${DRAFT_07}#` ? draft07Validator() : null;
  if (meta) return meta(body) ? undefined : (meta.errors ?? []);
  return ajv.validateSchema(body) ? undefined : (ajv.errors ?? []);
}

/** A schema the meta-schema refuses, with the meta-schema's errors, worded as Ajv's compile words it. */
export class InvalidSchemaError extends Error {
  constructor(readonly errors: ErrorObject[]) {
    super(`schema is invalid: ${ajv.errorsText(errors)}`);
  }
}

/**
 * The compiled validator of `schema`, cached by its content; throws InvalidSchemaError for a schema
 * the meta-schema refuses, and what Ajv throws for one it cannot compile.
 */
export function compiledSchema(schema: Record<string, unknown>): ValidateFunction {
  const body = bodyOf(schema);
  const key = JSON.stringify(body);
  let validate = compiled.get(key);
  if (validate) compiled.delete(key);
  else {
    const invalid = schemaErrors(body);
    if (invalid) throw new InvalidSchemaError(invalid);
    validate = ajv.compile(body);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
  }
  compiled.set(key, validate);
  return validate;
}

/** JSON Schema validation over the process's compiled schemas; reports every problem. */
export class SchemaValidator {
  /** Every problem of `value` against `schema`; empty when it is valid. */
  problems(schema: Record<string, unknown>, value: unknown): SchemaProblem[] {
    const validate = compiledSchema(schema);
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid', params: e.params }));
  }
}

export function describeProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}
