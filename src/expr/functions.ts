import { createHash, randomUUID } from 'node:crypto';
import { formatGo } from './printf.js';
import { formatTime, formatValue, isMap, kindOf, toJsonValue, truth, typeName } from './values.js';

/** A template function: its arity [min, max] (max undefined = variadic) and its body. */
export interface TemplateFunction {
  arity: [number, number | undefined];
  call(args: unknown[]): unknown;
}

const fn = (min: number, max: number | undefined, call: (args: unknown[]) => unknown): TemplateFunction => ({ arity: [min, max], call });

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? '' : formatValue(value, true);
}

/** sprig's toInt64: numbers truncate, numeric strings parse, everything else is 0. */
function int(value: unknown): number {
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const n = Number(value.trim());
    return Number.isFinite(n) ? Math.trunc(n) : 0;
  }
  return 0;
}

function float(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const n = Number(value.trim());
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

function list(value: unknown, name: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === null || value === undefined) return [];
  throw new Error(`${name} expects a list, got ${typeName(value)}`);
}

function map(value: unknown, name: string): Record<string, unknown> {
  if (isMap(value)) return value;
  throw new Error(`${name} expects a map, got ${typeName(value)}`);
}

/** sprig's `empty`: the zero value of its kind. */
export function isEmpty(value: unknown): boolean {
  return !truth(value);
}

function compare(a: unknown, b: unknown): number {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb || (ka !== 'number' && ka !== 'string')) throw new Error(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  if (ka === 'number') return Number(a) - Number(b);
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}

function eq(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka !== kb) throw new Error(`incompatible types for comparison: ${typeName(a)} and ${typeName(b)}`);
  if (ka === 'slice' || ka === 'map') throw new Error(`non-comparable type ${typeName(a)}`);
  if (ka === 'time') return (a as Date).getTime() === (b as Date).getTime();
  return a === b || (ka === 'number' && Number(a) === Number(b));
}

function byteLength(text: string): number {
  return Buffer.byteLength(text);
}

function length(value: unknown): number {
  switch (kindOf(value)) {
    case 'string':
      return byteLength(value as string);
    case 'slice':
      return (value as unknown[]).length;
    case 'map':
      return Object.keys(value as object).length;
    default:
      throw new Error(`len of type ${typeName(value)}`);
  }
}

function index(value: unknown, keys: unknown[]): unknown {
  let current = value;
  for (const key of keys) {
    if (Array.isArray(current) || typeof current === 'string') {
      const i = int(key);
      if (typeof key !== 'number' || !Number.isInteger(key)) throw new Error(`cannot index slice/array with type ${typeName(key)}`);
      const items = typeof current === 'string' ? [...Buffer.from(current)] : current;
      if (i < 0 || i >= items.length) throw new Error(`index out of range: ${i}`);
      current = items[i];
    } else if (isMap(current)) {
      if (typeof key !== 'string') throw new Error(`value has type ${typeName(key)}; should be string`);
      current = Object.hasOwn(current, key) ? current[key] : undefined;
    } else if (current === null || current === undefined) {
      throw new Error('index of untyped nil');
    } else throw new Error(`can't index item of type ${typeName(current)}`);
  }
  return current;
}

const two = (n: number) => String(n).padStart(2, '0');

/** Go layout elements, longest first so "2006" wins over "2" and "15" over "1". */
const GO_LAYOUT: Array<[string, (d: Date) => string]> = [
  ['2006', (d) => String(d.getUTCFullYear())],
  ['January', (d) => d.toLocaleString('en-US', { month: 'long', timeZone: 'UTC' })],
  ['Jan', (d) => d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })],
  ['Monday', (d) => d.toLocaleString('en-US', { weekday: 'long', timeZone: 'UTC' })],
  ['Mon', (d) => d.toLocaleString('en-US', { weekday: 'short', timeZone: 'UTC' })],
  ['MST', () => 'UTC'],
  ['Z07:00', () => 'Z'],
  ['-07:00', () => '+00:00'],
  ['-0700', () => '+0000'],
  ['.000000000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}000000`],
  ['.000000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}000`],
  ['.000', (d) => `.${String(d.getUTCMilliseconds()).padStart(3, '0')}`],
  ['01', (d) => two(d.getUTCMonth() + 1)],
  ['02', (d) => two(d.getUTCDate())],
  ['_2', (d) => String(d.getUTCDate()).padStart(2, ' ')],
  ['06', (d) => two(d.getUTCFullYear() % 100)],
  ['15', (d) => two(d.getUTCHours())],
  ['03', (d) => two(d.getUTCHours() % 12 || 12)],
  ['04', (d) => two(d.getUTCMinutes())],
  ['05', (d) => two(d.getUTCSeconds())],
  ['PM', (d) => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getUTCHours() >= 12 ? 'pm' : 'am')],
  ['1', (d) => String(d.getUTCMonth() + 1)],
  ['2', (d) => String(d.getUTCDate())],
  ['3', (d) => String(d.getUTCHours() % 12 || 12)],
  ['4', (d) => String(d.getUTCMinutes())],
  ['5', (d) => String(d.getUTCSeconds())],
];

/** Go reference-time layouts ("2006-01-02 15:04:05"), in UTC. */
export function formatDate(layout: string, date: Date): string {
  let out = '';
  for (let i = 0; i < layout.length; ) {
    const hit = GO_LAYOUT.find(([token]) => layout.startsWith(token, i));
    if (hit) {
      out += hit[1](date);
      i += hit[0].length;
    } else out += layout[i++];
  }
  return out;
}

function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value * 1000);
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  throw new Error(`cannot use ${typeName(value)} as a time`);
}

function regex(pattern: unknown): RegExp {
  try {
    return new RegExp(str(pattern), 'g');
  } catch (error) {
    throw new Error(`invalid regular expression: ${(error as Error).message}`);
  }
}

function caseWords(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}

function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(toJsonValue(value), null, indent) ?? 'null';
}

function deepEqual(a: unknown, b: unknown): boolean {
  return toJson(a) === toJson(b);
}

function splitList(sep: unknown, text: unknown): string[] {
  return str(text).split(str(sep));
}

/**
 * Go's builtins and the sprig functions real Compozy projects use, plus Compozy's htmlEscape,
 * htmlAttrEscape and jsEscape. Numbers follow sprig: add/sub/mul/div/mod work on integers.
 */
export const FUNCTIONS: Readonly<Record<string, TemplateFunction>> = {
  // Go builtins
  and: fn(1, undefined, () => undefined),
  or: fn(1, undefined, () => undefined),
  not: fn(1, 1, ([a]) => !truth(a)),
  len: fn(1, 1, ([a]) => length(a)),
  index: fn(1, undefined, ([value, ...keys]) => index(value, keys)),
  slice: fn(1, 3, ([value, from, to]) => {
    if (typeof value === 'string') return value.slice(int(from ?? 0), to === undefined ? undefined : int(to));
    return list(value, 'slice').slice(int(from ?? 0), to === undefined ? undefined : int(to));
  }),
  print: fn(0, undefined, (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + formatValue(a, true)).join('')),
  println: fn(0, undefined, (args) => `${args.map((a) => formatValue(a, true)).join(' ')}\n`),
  printf: fn(1, undefined, ([format, ...args]) => formatGo(str(format), args)),
  eq: fn(2, undefined, ([a, ...rest]) => rest.some((b) => eq(a, b))),
  ne: fn(2, 2, ([a, b]) => !eq(a, b)),
  lt: fn(2, 2, ([a, b]) => compare(a, b) < 0),
  le: fn(2, 2, ([a, b]) => compare(a, b) <= 0),
  gt: fn(2, 2, ([a, b]) => compare(a, b) > 0),
  ge: fn(2, 2, ([a, b]) => compare(a, b) >= 0),
  html: fn(1, undefined, (args) => htmlEscape(args.map((a) => str(a)).join(''))),
  js: fn(1, undefined, (args) => jsEscape(args.map((a) => str(a)).join(''))),
  urlquery: fn(1, undefined, (args) => encodeURIComponent(args.map((a) => str(a)).join('')).replace(/%20/g, '+')),

  // defaults and flow
  default: fn(1, 2, (args) => (args.length === 1 ? args[0] : isEmpty(args[1]) ? args[0] : args[1])),
  empty: fn(1, 1, ([a]) => isEmpty(a)),
  coalesce: fn(0, undefined, (args) => args.find((a) => !isEmpty(a))),
  ternary: fn(3, 3, ([a, b, condition]) => (truth(condition) ? a : b)),
  fail: fn(1, 1, ([message]) => {
    throw new Error(str(message));
  }),
  required: fn(2, 2, ([message, value]) => {
    if (value === null || value === undefined || value === '') throw new Error(str(message));
    return value;
  }),

  // strings
  toString: fn(1, 1, ([a]) => str(a)),
  upper: fn(1, 1, ([a]) => str(a).toUpperCase()),
  lower: fn(1, 1, ([a]) => str(a).toLowerCase()),
  title: fn(1, 1, ([a]) => str(a).replace(/(^|[^A-Za-z0-9'])([a-z])/g, (_, p: string, c: string) => p + c.toUpperCase())),
  untitle: fn(1, 1, ([a]) => str(a).replace(/(^|\s)([A-Z])/g, (_, p: string, c: string) => p + c.toLowerCase())),
  trim: fn(1, 1, ([a]) => str(a).trim()),
  trimAll: fn(2, 2, ([cut, a]) => {
    const chars = new Set(str(cut));
    const text = [...str(a)];
    let start = 0;
    let end = text.length;
    while (start < end && chars.has(text[start] as string)) start++;
    while (end > start && chars.has(text[end - 1] as string)) end--;
    return text.slice(start, end).join('');
  }),
  trimPrefix: fn(2, 2, ([prefix, a]) => (str(a).startsWith(str(prefix)) ? str(a).slice(str(prefix).length) : str(a))),
  trimSuffix: fn(2, 2, ([suffix, a]) => (str(suffix) !== '' && str(a).endsWith(str(suffix)) ? str(a).slice(0, -str(suffix).length) : str(a))),
  trunc: fn(2, 2, ([n, a]) => {
    const k = int(n);
    return k >= 0 ? str(a).slice(0, k) : str(a).slice(k);
  }),
  abbrev: fn(2, 2, ([n, a]) => {
    const k = int(n);
    const text = str(a);
    return k < 4 || text.length <= k ? text : `${text.slice(0, k - 3)}...`;
  }),
  contains: fn(2, 2, ([needle, a]) => str(a).includes(str(needle))),
  hasPrefix: fn(2, 2, ([prefix, a]) => str(a).startsWith(str(prefix))),
  hasSuffix: fn(2, 2, ([suffix, a]) => str(a).endsWith(str(suffix))),
  replace: fn(3, 3, ([from, to, a]) => str(a).split(str(from)).join(str(to))),
  repeat: fn(2, 2, ([n, a]) => {
    const k = int(n);
    if (k < 0 || k * str(a).length > 1_000_000) throw new Error(`repeat count ${k} out of range`);
    return str(a).repeat(k);
  }),
  substr: fn(3, 3, ([start, end, a]) => {
    const text = str(a);
    const s = int(start);
    const e = int(end);
    if (s < 0) return text.slice(0, e < 0 ? undefined : e);
    return e < 0 || e > text.length ? text.slice(s) : s > e ? '' : text.slice(s, e);
  }),
  nospace: fn(1, 1, ([a]) => str(a).replace(/\s+/g, '')),
  quote: fn(0, undefined, (args) => args.filter((a) => a !== null && a !== undefined).map((a) => JSON.stringify(str(a))).join(' ')),
  squote: fn(0, undefined, (args) => args.filter((a) => a !== null && a !== undefined).map((a) => `'${str(a)}'`).join(' ')),
  cat: fn(0, undefined, (args) => args.filter((a) => a !== null && a !== undefined).map((a) => str(a)).join(' ')),
  indent: fn(2, 2, ([n, a]) => {
    const pad = ' '.repeat(Math.max(0, int(n)));
    return pad + str(a).replace(/\n/g, `\n${pad}`);
  }),
  nindent: fn(2, 2, ([n, a]) => {
    const pad = ' '.repeat(Math.max(0, int(n)));
    return `\n${pad}${str(a).replace(/\n/g, `\n${pad}`)}`;
  }),
  split: fn(2, 2, ([sep, a]) => Object.fromEntries(splitList(sep, a).map((part, i) => [`_${i}`, part]))),
  splitList: fn(2, 2, ([sep, a]) => splitList(sep, a)),
  join: fn(2, 2, ([sep, items]) => (typeof items === 'string' ? items : list(items, 'join').map((item) => str(item)).join(str(sep)))),
  snakecase: fn(1, 1, ([a]) => caseWords(str(a)).map((w) => w.toLowerCase()).join('_')),
  kebabcase: fn(1, 1, ([a]) => caseWords(str(a)).map((w) => w.toLowerCase()).join('-')),
  camelcase: fn(1, 1, ([a]) => caseWords(str(a)).map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('')),
  plural: fn(3, 3, ([one, many, n]) => (int(n) === 1 ? str(one) : str(many))),
  htmlEscape: fn(1, 1, ([a]) => htmlEscape(str(a))),
  htmlAttrEscape: fn(1, 1, ([a]) => htmlEscape(str(a))),
  jsEscape: fn(1, 1, ([a]) => jsEscape(str(a))),

  // regular expressions
  regexMatch: fn(2, 2, ([pattern, a]) => regex(pattern).test(str(a))),
  regexFind: fn(2, 2, ([pattern, a]) => str(a).match(regex(pattern))?.[0] ?? ''),
  regexFindAll: fn(3, 3, ([pattern, a, n]) => {
    const all = str(a).match(regex(pattern)) ?? [];
    return int(n) < 0 ? all : all.slice(0, int(n));
  }),
  regexReplaceAll: fn(3, 3, ([pattern, a, replacement]) => str(a).replace(regex(pattern), str(replacement).replace(/\$\{?(\d+)\}?/g, '$$$1'))),
  regexSplit: fn(3, 3, ([pattern, a, n]) => {
    const parts = str(a).split(regex(pattern));
    return int(n) < 0 ? parts : parts.slice(0, int(n));
  }),

  // JSON and encodings
  toJson: fn(1, 1, ([a]) => toJson(a)),
  toRawJson: fn(1, 1, ([a]) => toJson(a)),
  toPrettyJson: fn(1, 1, ([a]) => toJson(a, 2)),
  fromJson: fn(1, 1, ([a]) => {
    try {
      return JSON.parse(str(a)) as unknown;
    } catch (error) {
      throw new Error(`invalid JSON: ${(error as Error).message}`);
    }
  }),
  b64enc: fn(1, 1, ([a]) => Buffer.from(str(a)).toString('base64')),
  b64dec: fn(1, 1, ([a]) => {
    const text = str(a);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new Error('illegal base64 data');
    return Buffer.from(text, 'base64').toString();
  }),
  sha256sum: fn(1, 1, ([a]) => createHash('sha256').update(str(a)).digest('hex')),
  sha1sum: fn(1, 1, ([a]) => createHash('sha1').update(str(a)).digest('hex')),
  uuidv4: fn(0, 0, () => randomUUID()),

  // numbers
  add: fn(0, undefined, (args) => args.reduce<number>((sum, a) => sum + int(a), 0)),
  add1: fn(1, 1, ([a]) => int(a) + 1),
  sub: fn(2, 2, ([a, b]) => int(a) - int(b)),
  mul: fn(1, undefined, (args) => args.reduce<number>((product, a) => product * int(a), 1)),
  div: fn(2, 2, ([a, b]) => {
    if (int(b) === 0) throw new Error('integer divide by zero');
    return Math.trunc(int(a) / int(b));
  }),
  mod: fn(2, 2, ([a, b]) => {
    if (int(b) === 0) throw new Error('integer divide by zero');
    return int(a) % int(b);
  }),
  max: fn(1, undefined, (args) => Math.max(...args.map(int))),
  min: fn(1, undefined, (args) => Math.min(...args.map(int))),
  addf: fn(0, undefined, (args) => args.reduce<number>((sum, a) => sum + float(a), 0)),
  subf: fn(2, 2, ([a, b]) => float(a) - float(b)),
  mulf: fn(1, undefined, (args) => args.reduce<number>((product, a) => product * float(a), 1)),
  divf: fn(2, 2, ([a, b]) => float(a) / float(b)),
  floor: fn(1, 1, ([a]) => Math.floor(float(a))),
  ceil: fn(1, 1, ([a]) => Math.ceil(float(a))),
  round: fn(2, 3, ([a, places, roundOn]) => {
    const factor = 10 ** int(places);
    const scaled = float(a) * factor;
    const whole = Math.floor(scaled);
    return (scaled - whole >= (roundOn === undefined ? 0.5 : float(roundOn)) ? whole + 1 : whole) / factor;
  }),
  int: fn(1, 1, ([a]) => int(a)),
  int64: fn(1, 1, ([a]) => int(a)),
  atoi: fn(1, 1, ([a]) => int(a)),
  float64: fn(1, 1, ([a]) => float(a)),
  until: fn(1, 1, ([n]) => {
    const k = int(n);
    if (Math.abs(k) > 1_000_000) throw new Error(`until ${k} out of range`);
    return Array.from({ length: Math.abs(k) }, (_, i) => (k < 0 ? -i : i));
  }),

  // lists
  list: fn(0, undefined, (args) => [...args]),
  first: fn(1, 1, ([a]) => list(a, 'first')[0]),
  last: fn(1, 1, ([a]) => list(a, 'last').at(-1)),
  rest: fn(1, 1, ([a]) => list(a, 'rest').slice(1)),
  initial: fn(1, 1, ([a]) => list(a, 'initial').slice(0, -1)),
  append: fn(2, 2, ([a, item]) => [...list(a, 'append'), item]),
  push: fn(2, 2, ([a, item]) => [...list(a, 'push'), item]),
  prepend: fn(2, 2, ([a, item]) => [item, ...list(a, 'prepend')]),
  concat: fn(0, undefined, (args) => args.flatMap((a) => list(a, 'concat'))),
  reverse: fn(1, 1, ([a]) => [...list(a, 'reverse')].reverse()),
  uniq: fn(1, 1, ([a]) => list(a, 'uniq').filter((item, i, all) => all.findIndex((other) => deepEqual(other, item)) === i)),
  compact: fn(1, 1, ([a]) => list(a, 'compact').filter((item) => !isEmpty(item))),
  has: fn(2, 2, ([item, a]) => list(a, 'has').some((other) => deepEqual(other, item))),
  without: fn(1, undefined, ([a, ...drop]) => list(a, 'without').filter((item) => !drop.some((d) => deepEqual(d, item)))),
  sortAlpha: fn(1, 1, ([a]) => list(a, 'sortAlpha').map((item) => str(item)).sort()),
  toStrings: fn(1, 1, ([a]) => list(a, 'toStrings').map((item) => str(item))),

  // maps
  dict: fn(0, undefined, (args) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i += 2) out[str(args[i])] = args[i + 1] ?? '';
    return out;
  }),
  get: fn(2, 2, ([m, key]) => {
    const value = map(m, 'get')[str(key)];
    return value === undefined ? '' : value;
  }),
  set: fn(3, 3, ([m, key, value]) => ({ ...map(m, 'set'), [str(key)]: value })),
  unset: fn(2, 2, ([m, key]) => {
    const copy = { ...map(m, 'unset') };
    delete copy[str(key)];
    return copy;
  }),
  hasKey: fn(2, 2, ([m, key]) => Object.hasOwn(map(m, 'hasKey'), str(key))),
  keys: fn(1, undefined, (args) => args.flatMap((m) => Object.keys(map(m, 'keys'))).sort()),
  values: fn(1, 1, ([m]) => {
    const source = map(m, 'values');
    return Object.keys(source)
      .sort()
      .map((key) => source[key]);
  }),
  pick: fn(1, undefined, ([m, ...keys]) => Object.fromEntries(Object.entries(map(m, 'pick')).filter(([key]) => keys.map(str).includes(key)))),
  omit: fn(1, undefined, ([m, ...keys]) => Object.fromEntries(Object.entries(map(m, 'omit')).filter(([key]) => !keys.map(str).includes(key)))),
  merge: fn(1, undefined, (args) => {
    const out: Record<string, unknown> = {};
    for (const m of [...args].reverse()) Object.assign(out, map(m, 'merge'));
    return out;
  }),
  pluck: fn(2, undefined, ([key, ...maps]) => maps.map((m) => map(m, 'pluck')[str(key)]).filter((v) => v !== undefined)),
  deepEqual: fn(2, 2, ([a, b]) => deepEqual(a, b)),

  // types
  kindOf: fn(1, 1, ([a]) => ({ nil: 'invalid', bool: 'bool', number: Number.isInteger(a) ? 'int' : 'float64', string: 'string', slice: 'slice', map: 'map', time: 'struct', func: 'func' })[kindOf(a)]),
  kindIs: fn(2, 2, ([kind, a]) => str(kind) === ({ nil: 'invalid', bool: 'bool', number: Number.isInteger(a) ? 'int' : 'float64', string: 'string', slice: 'slice', map: 'map', time: 'struct', func: 'func' })[kindOf(a)]),
  typeOf: fn(1, 1, ([a]) => typeName(a)),

  // dates (UTC)
  now: fn(0, 0, () => new Date()),
  date: fn(2, 2, ([layout, d]) => formatDate(str(layout), toDate(d))),
  dateInZone: fn(3, 3, ([layout, d, zone]) => {
    if (str(zone) !== 'UTC') throw new Error(`time zone ${str(zone)} is not supported; use UTC`);
    return formatDate(str(layout), toDate(d));
  }),
  unixEpoch: fn(1, 1, ([d]) => String(Math.floor(toDate(d).getTime() / 1000))),
  toDate: fn(2, 2, ([, text]) => toDate(str(text))),
  timeString: fn(1, 1, ([d]) => formatTime(toDate(d))),
};

function htmlEscape(text: string): string {
  return text.replace(/[&<>"'\0]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;', '\0': '\uFFFD' })[c] as string);
}

function jsEscape(text: string): string {
  return text.replace(/[\\'"<>&=\n\r\t\u2028\u2029]/g, (c) =>
    c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '"' ? '\\"' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}
