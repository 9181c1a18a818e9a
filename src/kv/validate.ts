import { CompozyError } from '../errors.js';
import type { SetOptions } from './kv.js';

export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function invalid(message: string): CompozyError {
  return new CompozyError('KV_INVALID_ARGUMENT', message, { hint: 'Fix the call: see the Kv contract in src/kv/kv.ts.' });
}

export function wrongType(key: string): CompozyError {
  return new CompozyError('KV_WRONG_TYPE', `WRONGTYPE operation against key "${key}" holding the wrong kind of value.`, {
    hint: 'Use the command family that matches the key (strings, hashes or lists), or delete the key first.',
  });
}

export function notInteger(key: string, detail = 'value is not an integer or out of range'): CompozyError {
  return new CompozyError('KV_NOT_INTEGER', `"${key}": ${detail}.`, { hint: 'Counters hold signed 64-bit integers in decimal form.' });
}

export function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string') throw invalid(`${what} must be a string, got ${key === null ? 'null' : typeof key}.`);
  return key;
}

/** A value as stored: its decimal or text form, within the size limit. */
export function encodeScalar(value: unknown, maxBytes: number, what = 'value'): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${what} must be a finite number, got ${value}.`);
    text = String(value);
  } else if (typeof value === 'bigint') text = value.toString();
  else throw invalid(`${what} must be a string, number or bigint, got ${value === null ? 'null' : typeof value}.`);
  if (text.length > maxBytes / 4 && Buffer.byteLength(text) > maxBytes) {
    throw new CompozyError('KV_VALUE_TOO_LARGE', `${what} is ${Buffer.byteLength(text)} bytes; the limit is ${maxBytes}.`, {
      hint: 'Store large payloads elsewhere, or raise maxValueBytes when opening the KV.',
    });
  }
  return text;
}

export function checkPositiveMs(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0) throw invalid(`${what} must be a positive integer, got ${String(ms)}.`);
  return ms;
}

/** Milliseconds of TTL a SET asks for, or undefined; rejects contradictory options. */
export function setTtlMs(options: SetOptions): number | undefined {
  if (options.nx && options.xx) throw invalid('set: nx and xx cannot be combined.');
  if (options.px !== undefined && options.ex !== undefined) throw invalid('set: px and ex cannot be combined.');
  const ttl = options.px !== undefined ? checkPositiveMs(options.px, 'px') : options.ex !== undefined ? checkPositiveMs(options.ex, 'ex') * 1000 : undefined;
  if (ttl !== undefined && options.keepTtl) throw invalid('set: keepTtl cannot be combined with px or ex.');
  return ttl;
}

export function checkDelta(delta: unknown): bigint {
  if (typeof delta === 'bigint') return delta;
  if (typeof delta === 'number' && Number.isSafeInteger(delta)) return BigInt(delta);
  throw invalid(`increment must be a safe integer or a bigint, got ${String(delta)}.`);
}

/** Parses a stored counter (null = absent = 0) and applies delta with Redis' int64 rules. */
export function addToCounter(key: string, stored: string | null, delta: bigint): bigint {
  let current = 0n;
  if (stored !== null) {
    if (!/^(0|-?[1-9][0-9]*)$/.test(stored)) throw notInteger(key);
    current = BigInt(stored);
    if (current < INT64_MIN || current > INT64_MAX) throw notInteger(key);
  }
  const next = current + delta;
  if (next < INT64_MIN || next > INT64_MAX) throw notInteger(key, 'increment or decrement would overflow');
  return next;
}

/** The result in the caller's number type; a number caller must not silently lose precision. */
export function counterResult(key: string, value: bigint, asBigint: boolean): number | bigint {
  if (asBigint) return value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalid(`"${key}" is now ${value}, beyond 2^53; pass a bigint increment to work with values this large.`);
  }
  return Number(value);
}

/** Redis LRANGE/LTRIM index rules: inclusive, negative from the tail; undefined for an empty range. */
export function normaliseRange(start: number, stop: number, length: number): { start: number; stop: number } | undefined {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop)) throw invalid('list indexes must be integers.');
  let from = start < 0 ? length + start : start;
  let to = stop < 0 ? length + stop : stop;
  if (from < 0) from = 0;
  if (to >= length) to = length - 1;
  if (from > to || from >= length) return undefined;
  return { start: from, stop: to };
}

/** JSON text for pub/sub payloads; anything JSON cannot carry is rejected, not mangled. */
export function encodeMessage(data: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    throw invalid(`message is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (text === undefined) throw invalid('message is not JSON-serialisable (undefined, a function or a symbol).');
  return text;
}
