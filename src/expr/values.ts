/**
 * How Go templates see JSON-shaped values: truthiness, kinds for comparisons and error messages, and
 * `%v` printing (maps as `map[k:v]` with sorted keys, slices as `[a b]`, missing values as `<no value>`).
 */

export type Kind = 'nil' | 'bool' | 'number' | 'string' | 'slice' | 'map' | 'time' | 'func';

export function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

export function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'slice';
  if (value instanceof Date) return 'time';
  if (typeof value === 'function') return 'func';
  return 'map';
}

/** Go's `truth`: false, 0, "", nil and empty slices and maps are false. */
export function truth(value: unknown): boolean {
  switch (kindOf(value)) {
    case 'nil':
      return false;
    case 'bool':
      return value as boolean;
    case 'number':
      return Number(value) !== 0;
    case 'string':
      return (value as string).length > 0;
    case 'slice':
      return (value as unknown[]).length > 0;
    case 'map':
      return Object.keys(value as object).length > 0;
    default:
      return true;
  }
}

export function formatNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return value.toFixed(0);
  return String(value).replace(/e\+?(-?)(\d)$/, 'e$1+0$2').replace('e+-', 'e-');
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Go's default time format: `2006-01-02 15:04:05.999999999 -0700 MST` (in UTC). */
export function formatTime(date: Date): string {
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${pad(ms, 3).replace(/0+$/, '')}`;
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction} +0000 UTC`;
}

/** `%v` of a value, nested the way fmt prints interface values. */
export function formatValue(value: unknown, nested = false): string {
  switch (kindOf(value)) {
    case 'nil':
      return nested ? '<nil>' : '<no value>';
    case 'bool':
      return String(value);
    case 'number':
      return formatNumber(value as number);
    case 'string':
      return value as string;
    case 'slice':
      return `[${(value as unknown[]).map((item) => formatValue(item, true)).join(' ')}]`;
    case 'time':
      return formatTime(value as Date);
    case 'func':
      return '<func>';
    default: {
      const map = value as Record<string, unknown>;
      return `map[${Object.keys(map)
        .sort()
        .map((key) => `${key}:${formatValue(map[key], true)}`)
        .join(' ')}]`;
    }
  }
}

/** Go type names for error messages, e.g. `map[string]interface {}`. */
export function typeName(value: unknown): string {
  switch (kindOf(value)) {
    case 'nil':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float64';
    case 'string':
      return 'string';
    case 'slice':
      return '[]interface {}';
    case 'time':
      return 'time.Time';
    case 'func':
      return 'func';
    default:
      return 'map[string]interface {}';
  }
}

/** JSON with Go's encoding/json choices: sorted map keys, times as RFC 3339. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) if (value[key] !== undefined) out[key] = toJsonValue(value[key]);
    return out;
  }
  return value === undefined ? null : value;
}
