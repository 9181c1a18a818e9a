import { AssertionError } from 'node:assert';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

/**
 * Where `actual` does not contain `expected`, or undefined when it does: objects match when every
 * expected key matches (other keys are ignored), arrays element by element with the same length,
 * everything else by strict equality.
 */
export function subsetMismatch(actual: unknown, expected: unknown, path = ''): string | undefined {
  if (isPlainObject(expected)) {
    if (!isPlainObject(actual)) return `${path || 'the value'} is ${show(actual)}, expected an object`;
    for (const [key, value] of Object.entries(expected)) {
      const found = subsetMismatch(actual[key], value, path ? `${path}.${key}` : key);
      if (found) return found;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path || 'the value'} is ${show(actual)}, expected a list`;
    if (actual.length !== expected.length) return `${path || 'the list'} has ${actual.length} items, expected ${expected.length}`;
    for (const [i, value] of expected.entries()) {
      const found = subsetMismatch(actual[i], value, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path || 'the value'} is ${show(actual)}, expected ${show(expected)}`;
}

/** Throws node's AssertionError (which every test runner reports, with a diff) when `actual` does not contain `expected`. */
export function assertSubset(actual: unknown, expected: unknown, what: string): void {
  const mismatch = subsetMismatch(actual, expected);
  if (mismatch) throw new AssertionError({ message: `${what}: ${mismatch}`, actual, expected, operator: 'partialDeepStrictEqual' });
}
