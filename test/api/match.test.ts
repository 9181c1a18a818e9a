import { describe, expect, it } from 'vitest';
import { subsetMismatch } from 'compozy/testing';

describe('subsetMismatch (what expectOutput, expectTask and compozy test compare with)', () => {
  it('objects match by the keys given, at any depth', () => {
    expect(subsetMismatch({ a: 1, b: { c: 'x', d: true } }, { b: { c: 'x' } })).toBeUndefined();
    expect(subsetMismatch({ a: 1, b: { c: 'x' } }, { b: { c: 'y' } })).toBe('b.c is "x", expected "y"');
    expect(subsetMismatch({ a: 1 }, { b: 2 })).toBe('b is nothing, expected 2');
    expect(subsetMismatch('text', { a: 1 })).toBe('the value is "text", expected an object');
  });

  it('lists match item by item with the same length', () => {
    expect(subsetMismatch([{ id: 1, x: 2 }, { id: 2 }], [{ id: 1 }, { id: 2 }])).toBeUndefined();
    expect(subsetMismatch({ l: [1, 2, 3] }, { l: [1, 2] })).toBe('l has 3 items, expected 2');
    expect(subsetMismatch({ l: [1, { a: 'b' }] }, { l: [1, { a: 'c' }] })).toBe('l[1].a is "b", expected "c"');
  });

  it('everything else by strict equality: no coercion between 4 and "4", null is not absent', () => {
    expect(subsetMismatch({ n: 4 }, { n: '4' })).toBe('n is 4, expected "4"');
    expect(subsetMismatch({ n: null }, { n: null })).toBeUndefined();
    expect(subsetMismatch({}, { n: null })).toBe('n is nothing, expected null');
  });
});
