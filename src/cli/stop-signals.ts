/**
 * SIGINT/SIGTERM/SIGHUP handlers installed from a process's first moment: a signal that arrives during
 * start-up is remembered and stops the process as soon as it is up, never kills it half-open.
 */
export interface StopSignals {
  /** `received SIGTERM`, once a signal arrived. */
  readonly reason: string | undefined;
  /** What stops the running process; called at once when a signal already arrived. */
  onStop(stop: () => void): void;
}

export function listenForStopSignals(log: (line: string) => void): StopSignals {
  let reason: string | undefined;
  let stop: (() => void) | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      reason = `received ${signal}`;
      log(`received ${signal}; stopping`);
      stop?.();
    });
  }
  return {
    get reason() {
      return reason;
    },
    onStop(next) {
      stop = next;
      if (reason) next();
    },
  };
}
