import { parse } from '@marcbachmann/cel-js';
import { CompozyError, errorMessage } from '../errors.js';
import { isMap } from './values.js';

type Compiled = ReturnType<typeof parse>;

const cache = new Map<string, Compiled>();
const CACHE_SIZE = 2000;

/** CEL has int and double; JSON has only numbers. Whole numbers become CEL ints, as in cel-go over Go ints. */
function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toCel(item);
    return out;
  }
  return value;
}

/** Back to JSON-shaped values: CEL ints within 2^53 become numbers, larger ones decimal strings. */
function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), fromCel(v)]));
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromCel(v)]));
  return value;
}

export function compileCel(expression: string): Compiled {
  const cached = cache.get(expression);
  if (cached) return cached;
  let compiled: Compiled;
  try {
    compiled = parse(expression);
  } catch (error) {
    throw new CompozyError('CEL_INVALID', `CEL expression "${expression}" is invalid: ${errorMessage(error).split('\n')[0]}`, {
      hint: 'Check the expression against the CEL syntax (e.g. item.score > 5 && index % 2 == 0).',
    });
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(expression, compiled);
  return compiled;
}

/** Evaluates a CEL expression over JSON-shaped variables (router conditions, wait conditions, filters). */
export function evaluateCel(expression: string, variables: Readonly<Record<string, unknown>>): unknown {
  const compiled = compileCel(expression);
  try {
    return fromCel(compiled(toCel(variables) as Record<string, unknown>));
  } catch (error) {
    throw new CompozyError('CEL_FAILED', `CEL expression "${expression}" failed: ${errorMessage(error).split('\n')[0]}`, {
      hint: `Variables available: ${Object.keys(variables).sort().join(', ')}.`,
    });
  }
}

/** A condition (wait, filter) must produce a bool; anything else is an error, not "truthy". */
export function evaluateCondition(expression: string, variables: Readonly<Record<string, unknown>>): boolean {
  const result = evaluateCel(expression, variables);
  if (typeof result !== 'boolean') {
    throw new CompozyError('CEL_FAILED', `CEL condition "${expression}" produced ${JSON.stringify(result)}, not a bool.`, { hint: 'Compare explicitly, e.g. status == "ready".' });
  }
  return result;
}
