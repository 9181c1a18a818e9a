import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { carriedError, carriedThrow, HISTORY_MESSAGE_LIMIT, HISTORY_RESULT_LIMIT_BYTES, jsonBytes, payloadTooLarge } from '../../src/engine/history-limits.js';

describe('what may pass through Temporal history', () => {
  it('an error keeps its code, its message cut to the limit saying how much is left, details only when small', () => {
    const long = carriedError({ code: 'TOOL_FAILED', message: 'x'.repeat(HISTORY_MESSAGE_LIMIT + 10), details: { rows: 'y'.repeat(100_000) } });
    expect(long.code).toBe('TOOL_FAILED');
    expect(long.message.startsWith('x'.repeat(HISTORY_MESSAGE_LIMIT))).toBe(true);
    expect(long.message).toContain('10 more characters in the execution store');
    expect(long.details).toBeUndefined();
    const short = { code: 'INPUT_INVALID', message: 'bad', details: { errors: ['a'] } };
    expect(carriedError(short)).toEqual(short);
  });

  it('a thrown error with a long message becomes one with the same code and a cut message; a short one is thrown as it is', () => {
    const big = new CompozyError('TOOL_FAILED', 'z'.repeat(1_000_000));
    const carried = carriedThrow(big) as Error & { code: string };
    expect(carried).not.toBe(big);
    expect(carried.code).toBe('TOOL_FAILED');
    expect(carried.message.length).toBeLessThan(HISTORY_MESSAGE_LIMIT + 100);
    const small = new Error('boom');
    expect(carriedThrow(small)).toBe(small);
  });

  it('PAYLOAD_TOO_LARGE says the size, the limit and what to do instead', () => {
    const error = payloadTooLarge('The items of collection "each"', 3 * 1024 * 1024);
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toBe('The items of collection "each": 3.0 MiB, more than the 1.0 MiB that can pass between tasks through Temporal.');
    expect(error.details).toEqual({ bytes: 3 * 1024 * 1024, limit_bytes: HISTORY_RESULT_LIMIT_BYTES });
    expect(error.hint).toContain('.tasks.<id>.output');
    expect(jsonBytes({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
  });
});
