import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError } from '../errors.js';
import type { AcquireOptions, Lock } from './kv.js';
import { checkKey, checkPositiveMs } from './validate.js';

/** The adapter-specific half of a lease: three atomic operations on one resource. */
export interface LockBackend {
  /** Takes the lease when free or expired; returns the new fencing token, or null when held. */
  tryTake(resource: string, token: string, ttlMs: number): Promise<bigint | null>;
  /** Extends the lease; false when this token no longer holds it. */
  extend(resource: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up; tells why when this token could not. */
  give(resource: string, token: string): Promise<'released' | 'not-owned' | 'not-held'>;
}

export function notHeld(resource: string): CompozyError {
  return new CompozyError('LOCK_NOT_HELD', `The lock on "${resource}" is no longer held by this holder (its lease expired).`, {
    hint: 'Use a longer TTL or autoRefresh(), and stop work that the lock was protecting.',
  });
}

class Lease implements Lock {
  constructor(
    private readonly backend: LockBackend,
    readonly resource: string,
    readonly token: string,
    readonly fencingToken: bigint,
    private readonly ttlMs: number,
  ) {}

  async refresh(ttlMs = this.ttlMs): Promise<void> {
    checkPositiveMs(ttlMs, 'ttlMs');
    if (!(await this.backend.extend(this.resource, this.token, ttlMs))) throw notHeld(this.resource);
  }

  async release(): Promise<void> {
    const outcome = await this.backend.give(this.resource, this.token);
    if (outcome === 'not-owned') {
      throw new CompozyError('LOCK_NOT_OWNED', `The lock on "${this.resource}" is held by another holder.`, {
        hint: 'This holder lost its lease and another took it; do not touch what the lock protects.',
      });
    }
    if (outcome === 'not-held') throw notHeld(this.resource);
  }

  autoRefresh(options: { intervalMs?: number; onLost?: (error: Error) => void } = {}): () => void {
    const timer = setInterval(() => {
      this.refresh().catch((error: Error) => {
        clearInterval(timer);
        options.onLost?.(error);
      });
    }, options.intervalMs ?? Math.max(1, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }
}

export async function tryAcquireWith(backend: LockBackend, resource: string, ttlMs: number): Promise<Lock | null> {
  checkKey(resource, 'resource');
  checkPositiveMs(ttlMs, 'ttlMs');
  const token = randomUUID();
  const fence = await backend.tryTake(resource, token, ttlMs);
  return fence === null ? null : new Lease(backend, resource, token, fence, ttlMs);
}

export async function acquireWith(backend: LockBackend, resource: string, ttlMs: number, options: AcquireOptions = {}): Promise<Lock> {
  const waitMs = options.waitMs ?? 0;
  const retryMs = options.retryMs ?? 50;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lock = await tryAcquireWith(backend, resource, ttlMs);
    if (lock) return lock;
    if (Date.now() + retryMs > deadline) {
      throw new CompozyError('LOCK_TIMEOUT', `Could not acquire the lock on "${resource}" within ${waitMs} ms: another holder has it.`, {
        hint: 'Wait longer (waitMs), or find out which process holds the lock.',
      });
    }
    await sleep(retryMs);
  }
}
