import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { Kv } from '../kv/kv.js';

/** Where budgets live on the KV; Compozy's prefix. */
export const RATE_LIMIT_PREFIX = 'compozy:ratelimit:';

type Result = { current: number; ttl: number };

/**
 * A fixed-window counter per client and window on the KV (INCRBY, so every process on one SQLite
 * KV and every server on one Redis counts into the same budget). The window is part of the key, so a
 * counter whose expiry was never set (the process died between the two calls) ends with its window
 * anyway. `burst`: a window may take up to this many requests more than `max` when the client's
 * previous window left at least as many unused; the answer counts them off `current`, so
 * RateLimit-Remaining includes them.
 */
export class KvWindowCounter {
  /** Finished windows do not change: their counts are read once per process. */
  private readonly previous = new Map<string, number>();
  private previousWindow = -1;

  constructor(
    private readonly kv: Kv,
    private readonly now: () => number = Date.now,
  ) {}

  async hit(key: string, periodMs: number, max: number, burst: number): Promise<Result> {
    const now = this.now();
    const window = Math.floor(now / periodMs);
    const counter = `${RATE_LIMIT_PREFIX}${key}:${periodMs}:${window}`;
    const count = await this.kv.incrBy(counter, 1);
    if (count === 1) await this.kv.pexpire(counter, 2 * periodMs);
    const carried = burst > 0 ? Math.min(burst, Math.max(0, max - (await this.previousCount(key, periodMs, window)))) : 0;
    return { current: count - carried, ttl: (window + 1) * periodMs - now };
  }

  private async previousCount(key: string, periodMs: number, window: number): Promise<number> {
    if (window !== this.previousWindow) {
      this.previous.clear();
      this.previousWindow = window;
    }
    const name = `${key}:${periodMs}`;
    const known = this.previous.get(name);
    if (known !== undefined) return known;
    const count = Number((await this.kv.get(`${RATE_LIMIT_PREFIX}${name}:${window - 1}`)) ?? 0);
    this.previous.set(name, count);
    return count;
  }
}

/**
 * The store class @fastify/rate-limit constructs: the global budget's burst, and per route group (its
 * groupId, which the plugin appends to the key) that route's burst.
 */
export function kvRateLimitStore(counter: KvWindowCounter, globalBurst: number, routeBurst: ReadonlyMap<string, number>) {
  class KvRateLimitStore implements FastifyRateLimitStore {
    burst = globalBurst;

    incr(key: string, callback: (error: Error | null, result?: Result) => void, timeWindow: number, max: number): void {
      counter.hit(key, timeWindow, max, this.burst).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      );
    }

    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const store = new KvRateLimitStore();
      const { groupId } = routeOptions as { groupId?: string };
      store.burst = groupId === undefined ? globalBurst : (routeBurst.get(groupId) ?? globalBurst);
      return store;
    }
  }
  return KvRateLimitStore;
}
