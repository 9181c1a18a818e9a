import type { ConfigDiagnostic, YamlFile, YamlPath } from './yaml-file.js';

/** Levenshtein distance, for "did you mean …". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/** The closest candidate, when it is close enough to be a likely typo. */
export function didYouMean(value: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

export function suggestion(value: string, candidates: Iterable<string>, what: string): string {
  const list = [...candidates];
  const guess = didYouMean(value, list);
  if (guess) return `Did you mean "${guess}"?`;
  return list.length === 0 ? `No ${what} is defined.` : `Known ${what}s: ${list.sort().join(', ')}.`;
}

export type Obj = Record<string, unknown>;

/** An object without the keys whose value is undefined (loaded configs and compiled definitions travel as JSON). */
export function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Typed reads from parsed YAML that record a diagnostic (and return undefined) when a value has the wrong type. */
export class Reader {
  constructor(
    readonly file: YamlFile,
    readonly diagnostics: ConfigDiagnostic[],
  ) {}

  error(path: YamlPath, message: string, hint?: string): void {
    this.diagnostics.push(this.file.diagnostic(path, message, hint));
  }

  string(obj: Obj, path: YamlPath, key: string, required = false): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (required) this.error(path, `"${key}" is required.`, `Add ${key}: … here.`);
      return undefined;
    }
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') {
      this.error([...path, key], `"${key}" must be a string.`);
      return undefined;
    }
    if (required && value.trim() === '') this.error([...path, key], `"${key}" must not be empty.`);
    return value;
  }

  number(obj: Obj, path: YamlPath, key: string): number | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.error([...path, key], `"${key}" must be a number.`);
      return undefined;
    }
    return value;
  }

  bool(obj: Obj, path: YamlPath, key: string): boolean {
    const value = obj[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== 'boolean') {
      this.error([...path, key], `"${key}" must be true or false.`);
      return false;
    }
    return value;
  }

  map(obj: Obj, path: YamlPath, key: string): Obj {
    const value = obj[key];
    if (value === undefined || value === null) return {};
    if (!isObj(value)) {
      this.error([...path, key], `"${key}" must be a mapping.`);
      return {};
    }
    return value;
  }

  stringMap(obj: Obj, path: YamlPath, key: string): Record<string, string> {
    const raw = this.map(obj, path, key);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (v === null || typeof v === 'object') this.error([...path, key, k], `"${key}.${k}" must be a string.`);
      else out[k] = String(v);
    }
    return out;
  }

  list(obj: Obj, path: YamlPath, key: string): unknown[] {
    const value = obj[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error([...path, key], `"${key}" must be a list.`);
      return [];
    }
    return value;
  }

  /**
   * Reports keys not in `allowed`, with the likely intended one; a key of `unsupported` (a field of the
   * reference that nothing here honours yet) is refused by name with its hint.
   */
  knownKeys(obj: Obj, path: YamlPath, allowed: ReadonlySet<string>, what: string, unsupported: Readonly<Record<string, string>> = {}): void {
    for (const key of Object.keys(obj)) {
      if (allowed.has(key)) continue;
      const hint = Object.hasOwn(unsupported, key) ? unsupported[key] : undefined;
      if (hint !== undefined) this.error([...path, key], `The ${what} field "${key}" is not supported yet.`, hint);
      else this.error([...path, key], `Unknown ${what} field "${key}".`, suggestion(key, allowed, `${what} field`));
    }
  }
}

const SOURCE_ENTRY_FIELDS = new Set(['id', 'source']);

/** A workflow's `resources.<key>: [{id, source}]` entries (resources.tasks, resources.memories). */
export function resourceSources(r: Reader, resources: Obj, key: string, what: string): Array<{ id: string; source: string; path: YamlPath }> {
  return r.list(resources, ['resources'], key).flatMap((item, i) => {
    const path: YamlPath = ['resources', key, i];
    if (!isObj(item)) {
      r.error(path, `A ${what} resource entry is {id, source}.`);
      return [];
    }
    r.knownKeys(item, path, SOURCE_ENTRY_FIELDS, `${what} resource entry`);
    const id = r.string(item, path, 'id', true);
    const source = r.string(item, path, 'source', true);
    return id && source ? [{ id, source, path }] : [];
  });
}
