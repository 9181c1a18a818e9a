import { describe, expect, it } from 'vitest';
import { isPermanent } from '../../src/engine/activities/outcome.js';
import { CompozyError } from '../../src/errors.js';

describe('which memory failures a retry can fix', () => {
  it('an unknown memory is permanent: no retry finds it', () => {
    expect(isPermanent(new CompozyError('MEMORY_NOT_FOUND', 'Memory "nope" is not declared.'))).toBe(true);
  });

  it('a memory backend that is down is retried: the KV may be back on the next attempt', () => {
    expect(isPermanent(new CompozyError('MEMORY_UNAVAILABLE', 'Memory backend sqlite is unavailable.'))).toBe(false);
  });
});
