import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

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
const ajv = new Ajv({ strict: false, allErrors: true, addUsedSchema: false });
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
  return ajv.validateSchema(bodyOf(schema)) ? undefined : (ajv.errors ?? []);
}

/** The compiled validator of `schema`, cached by its content; throws what Ajv throws for a schema it cannot compile. */
export function compiledSchema(schema: Record<string, unknown>): ValidateFunction {
  const body = bodyOf(schema);
  const key = JSON.stringify(body);
  let validate = compiled.get(key);
  if (validate) compiled.delete(key);
  else {
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
