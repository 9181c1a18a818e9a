import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/supervisor/restart-policy.js';

describe('RestartPolicy', () => {
  it('backs off exponentially up to the cap', () => {
    const policy = new RestartPolicy({ maxCrashes: 10, baseDelayMs: 500, maxDelayMs: 3000 });
    const delays = [0, 1, 2, 3, 4].map((i) => policy.recordCrash(1000 + i));
    expect(delays.map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it('gives up on the fifth crash within 60 s', () => {
    const policy = new RestartPolicy();
    const decisions = [0, 10_000, 20_000, 30_000, 40_000].map((t) => policy.recordCrash(t));
    expect(decisions.slice(0, 4).every((d) => d.action === 'restart')).toBe(true);
    expect(decisions[4]).toMatchObject({ action: 'give-up', crashesInWindow: 5, reason: 'crashed 5 times within 60 s' });
  });

  it('forgets crashes older than the window, and the backoff restarts from the base', () => {
    const policy = new RestartPolicy();
    for (const t of [0, 10_000, 20_000, 30_000]) policy.recordCrash(t);
    const later = policy.recordCrash(95_000);
    expect(later).toEqual({ action: 'restart', delayMs: 500, crashesInWindow: 1 });
  });
});
