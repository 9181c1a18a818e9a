import type { MemoryResource } from '../config/types.js';
import { CompozyError } from '../errors.js';

/** persistence.circuit_breaker: after max_failures outages in a row, fail fast for reset_timeout. */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;

  constructor(
    private readonly ref: string,
    private readonly config: NonNullable<MemoryResource['persistence']['circuitBreaker']>,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.openUntil > Date.now()) {
      throw new CompozyError('MEMORY_UNAVAILABLE', `Memory "${this.ref}" is not trying its store for now: it failed ${this.failures} times in a row (circuit breaker open).`, {
        hint: `It tries again after ${Math.ceil((this.openUntil - Date.now()) / 1000)} s.`,
        details: { circuit_breaker: 'open' },
      });
    }
    try {
      const result = await fn();
      this.failures = 0;
      return result;
    } catch (error) {
      if (error instanceof CompozyError && error.code === 'MEMORY_UNAVAILABLE' && ++this.failures >= this.config.maxFailures) this.openUntil = Date.now() + this.config.resetTimeoutMs;
      throw error;
    }
  }
}
