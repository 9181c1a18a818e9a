import { useState } from 'preact/hooks';
import type { JsonSchema } from './api';

interface Field {
  name: string;
  schema: JsonSchema;
  required: boolean;
  kind: 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';
}

function kindOf(schema: JsonSchema): Field['kind'] {
  if (Array.isArray(schema.enum)) return 'enum';
  switch (schema.type) {
    case 'string':
      return 'text';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

/** The form's fields: one per property of an object schema; no schema, or any other, is edited as JSON. */
export function fieldsOf(schema: JsonSchema | null): Field[] | undefined {
  if (schema === null || (schema.type !== 'object' && schema.properties === undefined)) return undefined;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => ({ name, schema: property, required: required.has(name), kind: kindOf(property) }));
}

function initial(field: Field): string {
  const given = field.schema.default ?? (Array.isArray(field.schema.examples) ? field.schema.examples[0] : undefined);
  if (given === undefined) return field.kind === 'enum' ? String((field.schema.enum as unknown[])[0] ?? '') : '';
  return typeof given === 'string' ? given : JSON.stringify(given);
}

/** The value a field's text stands for; undefined leaves an optional property out. Throws naming the field. */
function valueOf(field: Field, text: string, checked: boolean): unknown {
  if (field.kind === 'boolean') return checked;
  if (text === '') {
    if (field.required) throw new Error(`${field.name} is required`);
    return undefined;
  }
  switch (field.kind) {
    case 'text':
      return text;
    case 'enum': {
      const option = (field.schema.enum as unknown[]).find((candidate) => String(candidate) === text);
      return option;
    }
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n) || (field.kind === 'integer' && !Number.isInteger(n))) throw new Error(`${field.name} must be ${field.kind === 'integer' ? 'an integer' : 'a number'}`);
      return n;
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`${field.name} is not valid JSON`);
      }
  }
}

/**
 * A run form generated from an input JSON Schema. The server validates the input against the same
 * schema; the form only turns its fields into typed values (its errors name the field).
 */
export function SchemaForm({ schema, submitLabel, onSubmit, busy }: { schema: JsonSchema | null; submitLabel: string; onSubmit: (input: unknown) => void; busy: boolean }) {
  const fields = fieldsOf(schema);
  const [texts, setTexts] = useState<Record<string, string>>(() => Object.fromEntries((fields ?? []).map((f) => [f.name, initial(f)])));
  const [checks, setChecks] = useState<Record<string, boolean>>(() => Object.fromEntries((fields ?? []).map((f) => [f.name, f.schema.default === true])));
  const [raw, setRaw] = useState<string | undefined>(fields === undefined ? '{}' : undefined);
  const [problem, setProblem] = useState<string | undefined>();

  const collect = (): unknown => {
    if (raw !== undefined) {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new Error('the input is not valid JSON');
      }
    }
    const input: Record<string, unknown> = {};
    for (const field of fields ?? []) {
      const value = valueOf(field, texts[field.name] ?? '', checks[field.name] ?? false);
      if (value !== undefined) input[field.name] = value;
    }
    return input;
  };

  const submit = (event: Event) => {
    event.preventDefault();
    try {
      const input = collect();
      setProblem(undefined);
      onSubmit(input);
    } catch (error) {
      setProblem((error as Error).message);
    }
  };

  const toggleRaw = () => {
    if (raw !== undefined) {
      setRaw(undefined);
      return;
    }
    try {
      setRaw(JSON.stringify(collect(), null, 2));
    } catch {
      setRaw('{}');
    }
  };

  return (
    <form class="schema-form" onSubmit={submit}>
      {raw === undefined ? (
        (fields ?? []).map((field) => (
          <label key={field.name} class="field">
            <span>
              {field.name}
              {field.required ? <abbr title="required"> *</abbr> : null}
              {typeof field.schema.description === 'string' ? <small> {field.schema.description}</small> : null}
            </span>
            {field.kind === 'boolean' ? (
              <input type="checkbox" name={field.name} checked={checks[field.name]} onChange={(e) => setChecks({ ...checks, [field.name]: (e.target as HTMLInputElement).checked })} />
            ) : field.kind === 'enum' ? (
              <select name={field.name} value={texts[field.name]} onChange={(e) => setTexts({ ...texts, [field.name]: (e.target as HTMLSelectElement).value })}>
                {(field.schema.enum as unknown[]).map((option) => (
                  <option key={String(option)} value={String(option)}>
                    {String(option)}
                  </option>
                ))}
              </select>
            ) : field.kind === 'json' ? (
              <textarea name={field.name} rows={3} placeholder="JSON" value={texts[field.name]} onInput={(e) => setTexts({ ...texts, [field.name]: (e.target as HTMLTextAreaElement).value })} />
            ) : field.kind === 'text' ? (
              <input name={field.name} type="text" required={field.required} value={texts[field.name]} onInput={(e) => setTexts({ ...texts, [field.name]: (e.target as HTMLInputElement).value })} />
            ) : (
              <input
                name={field.name}
                type="number"
                step={field.kind === 'number' ? 'any' : '1'}
                required={field.required}
                value={texts[field.name]}
                onInput={(e) => setTexts({ ...texts, [field.name]: (e.target as HTMLInputElement).value })}
              />
            )}
          </label>
        ))
      ) : (
        <label class="field">
          <span>Input (JSON)</span>
          <textarea name="input" rows={8} value={raw} onInput={(e) => setRaw((e.target as HTMLTextAreaElement).value)} />
        </label>
      )}
      {problem ? (
        <div class="error" role="alert">
          {problem}
        </div>
      ) : null}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
        {fields !== undefined ? (
          <button type="button" class="secondary" onClick={toggleRaw}>
            {raw === undefined ? 'Edit as JSON' : 'Edit as form'}
          </button>
        ) : null}
      </div>
    </form>
  );
}
