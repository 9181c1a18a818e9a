import type { Kv } from '../kv/kv.js';

/** Where budgets live on the KV; Compozy's prefix. */
const RATE_LIMIT_PREFIX = 'compozy:ratelimit:';

/** The client's position in its window's budget (over max: refused) and the milliseconds until the window ends. */
export interface WindowCount {
  current: number;
  ttl: number;
}

/** Tokens one process holds of one window's budget: next…last are its own to hand out. */
interface Lease {
  periodMs: number;
  window: number;
  next: number;
  last: number;
  /** The highest count of the shared counter this process has seen in the window. */
  known: number;
  /** The most tokens the next refill takes: FIRST_LEASE, doubled by each refill of the window up to MAX_LEASE. */
  size: number;
  refill?: Promise<void>;
}

/** A window's first lease takes at most this many tokens from the KV; each refill of the window doubles it… */
const FIRST_LEASE = 64;
/** …up to this many, so a client that keeps busy costs a KV write per 4096 requests, not per 64… */
const MAX_LEASE = 4096;
/** …and never more than this share of what is left, so a process holds little of a budget near its end. */
const LEASE_SHARE = 8;
/** Leases of this many clients are kept before those of finished windows are dropped. */
const PRUNE_AT = 10_000;

/**
 * A fixed-window counter per client and window on the KV: INCRBY, so every process on one SQLite KV
 * and every server on one Redis counts into the same budget. A process takes tokens from the counter
 * in leases (up to an eighth of what is left, one when few are left; at most 64 at first, twice as many
 * with each refill in the window, up to 4096) and hands them out locally, so a busy client costs one
 * KV write per lease instead of one per request; the price is that
 * a process may hold up to an eighth of the remaining budget unused when the window ends (others are
 * then refused that much early, never admitted beyond the limit). Once a window is spent, requests are
 * refused without writing. The window is part of the counter's name, so a counter whose expiry was
 * never set (the process died between the two calls) ends with its window anyway. `burst`: a window may
 * take up to this many requests more than `max` when the client's previous window left at least as many
 * unused; the answer counts them off `current`, so RateLimit-Remaining includes them.
 */
export class KvWindowCounter {
  private readonly leases = new Map<string, Lease>();
  /** Finished windows do not change: their counts are read once per process. */
  private readonly previous = new Map<string, number>();

  constructor(
    private readonly kv: Kv,
    private readonly now: () => number = Date.now,
  ) {}

  /** Synchronous while the process holds a token (the common case); a promise when it must ask the KV. */
  hit(key: string, periodMs: number, max: number, burst: number): WindowCount | Promise<WindowCount> {
    const now = this.now();
    const window = Math.floor(now / periodMs);
    const ttl = (window + 1) * periodMs - now;
    let carried = 0;
    if (burst > 0) {
      const previous = this.previous.get(`${key}:${periodMs}:${window - 1}`);
      if (previous === undefined) return this.readPrevious(key, periodMs, window).then(() => this.hit(key, periodMs, max, burst));
      carried = Math.min(burst, Math.max(0, max - previous));
    }
    const limit = max + carried;
    const lease = this.lease(`${key}:${periodMs}`, periodMs, window);
    if (lease.next <= lease.last) return { current: lease.next++ - carried, ttl };
    if (lease.known >= limit) return { current: lease.known + 1 - carried, ttl };
    lease.refill ??= this.refill(lease, `${RATE_LIMIT_PREFIX}${key}:${periodMs}:${window}`, limit).finally(() => (lease.refill = undefined));
    return lease.refill.then(() => this.hit(key, periodMs, max, burst));
  }

  /**
   * The client's count when this process knows its budget is spent (no token held, the shared counter
   * at `max`), else undefined; never asks the KV. Budgets checked this way have no burst.
   */
  spent(key: string, periodMs: number, max: number): WindowCount | undefined {
    const now = this.now();
    const window = Math.floor(now / periodMs);
    const lease = this.leases.get(`${key}:${periodMs}`);
    if (lease?.window !== window || lease.next <= lease.last || lease.known < max) return undefined;
    return { current: lease.known + 1, ttl: (window + 1) * periodMs - now };
  }

  private lease(name: string, periodMs: number, window: number): Lease {
    let lease = this.leases.get(name);
    if (lease?.window === window) return lease;
    if (this.leases.size >= PRUNE_AT) {
      const now = this.now();
      for (const [other, held] of this.leases) if (held.window < Math.floor(now / held.periodMs)) this.leases.delete(other);
    }
    lease = { periodMs, window, next: 1, last: 0, known: 0, size: FIRST_LEASE };
    this.leases.set(name, lease);
    return lease;
  }

  private async refill(lease: Lease, counter: string, limit: number): Promise<void> {
    const size = Math.min(lease.size, Math.max(1, Math.floor((limit - lease.known) / LEASE_SHARE)));
    lease.size = Math.min(MAX_LEASE, 2 * lease.size);
    const total = await this.kv.incrBy(counter, size);
    if (total === size) await this.kv.pexpire(counter, 2 * lease.periodMs);
    lease.next = total - size + 1;
    lease.last = total;
    lease.known = Math.max(lease.known, total);
  }

  private async readPrevious(key: string, periodMs: number, window: number): Promise<void> {
    const name = `${key}:${periodMs}:${window - 1}`;
    const count = Number((await this.kv.get(`${RATE_LIMIT_PREFIX}${name}`)) ?? 0);
    if (this.previous.size >= PRUNE_AT) this.previous.clear();
    this.previous.set(name, count);
  }

}
