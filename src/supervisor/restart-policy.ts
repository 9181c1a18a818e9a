export interface RestartPolicyOptions {
  maxCrashes: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { maxCrashes: 5, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 10_000 };

export type RestartDecision = { action: 'restart'; delayMs: number; crashesInWindow: number } | { action: 'give-up'; crashesInWindow: number; reason: string };

/** Exponential backoff between restarts; gives up after maxCrashes crashes within windowMs. */
export class RestartPolicy {
  private crashes: number[] = [];
  private readonly options: RestartPolicyOptions;

  constructor(options: Partial<RestartPolicyOptions> = {}) {
    this.options = { ...DEFAULT_RESTART_POLICY, ...options };
  }

  recordCrash(now: number): RestartDecision {
    this.crashes = [...this.crashes.filter((at) => now - at < this.options.windowMs), now];
    const count = this.crashes.length;
    if (count >= this.options.maxCrashes) {
      return { action: 'give-up', crashesInWindow: count, reason: `crashed ${count} times within ${Math.round(this.options.windowMs / 1000)} s` };
    }
    const delayMs = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (count - 1));
    return { action: 'restart', delayMs, crashesInWindow: count };
  }
}
