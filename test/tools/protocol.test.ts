import { describe, expect, it } from 'vitest';
import { cutToJsonBytes } from '../../src/tools/protocol.js';

const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text));

describe('cutToJsonBytes (tool error messages and stacks)', () => {
  it('keeps a text whose JSON form fits', () => {
    const text = 'x'.repeat(1000);
    expect(cutToJsonBytes(text, 1002)).toBe(text);
  });

  it('cuts a longer text to the limit and says where', () => {
    const text = 'y'.repeat(5000);
    const cut = cutToJsonBytes(text, 1000);
    expect(jsonBytes(cut)).toBeLessThanOrEqual(1000);
    expect(cut.startsWith('y'.repeat(900))).toBe(true);
    expect(cut).toMatch(/… \(cut at \d+ of 5000 characters\)$/);
  });

  it('counts the bytes JSON needs, not characters: escapes and multi-byte text stay under the limit', () => {
    for (const unit of ['"', '\u0001', 'é', '😀']) {
      const cut = cutToJsonBytes(unit.repeat(4000), 2000);
      expect(jsonBytes(cut)).toBeLessThanOrEqual(2000);
      expect(jsonBytes(cut)).toBeGreaterThan(1500);
    }
  });
});
