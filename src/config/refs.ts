import type { YamlPath } from './yaml-file.js';

/**
 * The `$ref` / `$use` mini-language of the reference (§1.1): `[kind(]scope::path[)]`, where scope is
 * `local` (the file being read) or `global` (compozy.yaml), kind is `tool`, `agent` or `task` (for
 * `$use`), and path is a gjson path made of keys (`models`), indexes (`models.0`), queries
 * `#(field=="v")` (also `#(field="v")`, `!=`, numbers and booleans) taking the first match, and
 * `#(…)#` taking every match; a path may go on after a query (`models.#(provider=="groq").model`).
 */
export interface RefExpression {
  text: string;
  kind?: string;
  scope: 'local' | 'global';
  segments: RefSegment[];
}

export type RefSegment =
  | { type: 'key'; key: string }
  | { type: 'query'; field: string; op: '==' | '!='; value: string | number | boolean | null; all: boolean };

/** One value a reference reached, with its path in the document it came from. */
export interface RefMatch {
  value: unknown;
  path: YamlPath;
}

const BARE = /^\s*(local|global)::(.+?)\s*$/;
const WRAPPED = /^\s*(\w+)\(\s*(local|global)::(.+?)\s*\)\s*$/;

function splitPath(path: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string;
    if (quoted) {
      if (ch === '\\') {
        current += ch + (path[i + 1] ?? '');
        i++;
        continue;
      }
      if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '.' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  if (quoted || depth !== 0) return undefined;
  parts.push(current);
  return parts.some((part) => part === '') ? undefined : parts;
}

function literal(text: string): string | number | boolean | null | undefined {
  const trimmed = text.trim();
  if (/^"(?:[^"\\]|\\.)*"$/.test(trimmed)) return JSON.parse(trimmed) as string;
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed === 'null') return null;
  if (/^-?\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return undefined;
}

function segment(part: string): RefSegment | undefined {
  const query = /^#\(\s*([\w.-]+)\s*(==|=|!=)\s*(.+?)\s*\)(#?)$/.exec(part);
  if (query) {
    const value = literal(query[3] as string);
    if (value === undefined) return undefined;
    return { type: 'query', field: query[1] as string, op: query[2] === '!=' ? '!=' : '==', value, all: query[4] === '#' };
  }
  if (part.includes('#') || part.includes('(') || part.includes('*') || part.includes('?')) return undefined;
  return { type: 'key', key: part };
}

/** Parses a reference; undefined when it is not one of the forms above. */
export function parseRef(text: string): RefExpression | undefined {
  const wrapped = WRAPPED.exec(text);
  const bare = wrapped ? undefined : BARE.exec(text);
  const envelope = wrapped ? { kind: wrapped[1], scope: wrapped[2], path: wrapped[3] } : bare ? { kind: undefined, scope: bare[1], path: bare[2] } : undefined;
  if (!envelope) return undefined;
  const parts = splitPath(envelope.path as string);
  if (!parts) return undefined;
  const segments: RefSegment[] = [];
  for (const part of parts) {
    const parsed = segment(part);
    if (!parsed) return undefined;
    segments.push(parsed);
  }
  return { text, scope: envelope.scope as 'local' | 'global', segments, ...(envelope.kind ? { kind: envelope.kind } : {}) };
}

function fieldOf(value: unknown, field: string): unknown {
  let node = value;
  for (const key of field.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function step(match: RefMatch, seg: RefSegment): RefMatch[] {
  const { value, path } = match;
  if (seg.type === 'key') {
    if (Array.isArray(value)) {
      if (!/^\d+$/.test(seg.key)) return [];
      const index = Number(seg.key);
      return index < value.length ? [{ value: value[index], path: [...path, index] }] : [];
    }
    if (value === null || typeof value !== 'object' || !(seg.key in value)) return [];
    return [{ value: (value as Record<string, unknown>)[seg.key], path: [...path, seg.key] }];
  }
  if (!Array.isArray(value)) return [];
  const hits = value.flatMap((item, index) => ((fieldOf(item, seg.field) === seg.value) === (seg.op === '==') ? [{ value: item as unknown, path: [...path, index] }] : []));
  return seg.all ? hits : hits.slice(0, 1);
}

/** What a reference reaches in `document` (the scope's file, as data): none, one, or — after `#(…)#` — several. */
export function evaluateRef(ref: RefExpression, document: unknown): RefMatch[] {
  let matches: RefMatch[] = [{ value: document, path: [] }];
  for (const seg of ref.segments) matches = matches.flatMap((match) => step(match, seg));
  return matches;
}

/** The collection a reference looks in (`models` of `global::models.#(…)`), when it starts with a key. */
export function refCollection(ref: RefExpression): string | undefined {
  const first = ref.segments[0];
  return first?.type === 'key' ? first.key : undefined;
}

/** Whether a reference can reach more than one value (it has a `#(…)#` query). */
export function refIsMulti(ref: RefExpression): boolean {
  return ref.segments.some((seg) => seg.type === 'query' && seg.all);
}
