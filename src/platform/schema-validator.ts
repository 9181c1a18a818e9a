import { Ajv, type ValidateFunction } from 'ajv';

export interface SchemaProblem {
  path: string;
  message: string;
  params: Record<string, unknown>;
}

/**
 * JSON Schema validation with compiled schemas cached by their content; reports every problem. A
 * top-level `id` is Compozy's schema name (`id: city_input`), not a JSON Schema keyword, and is ignored.
 */
export class SchemaValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Every problem of `value` against `schema`; empty when it is valid. */
  problems(schema: Record<string, unknown>, value: unknown): SchemaProblem[] {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      const { id: _id, ...body } = schema;
      void _id;
      validate = this.ajv.compile(body);
      this.compiled.set(key, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid', params: e.params }));
  }
}

export function describeProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}
