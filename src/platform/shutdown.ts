import { errorMessage } from '../errors.js';

/** One thing a process closes at shutdown. */
export interface ShutdownStep {
  /** Named in the log line and the error when it fails, e.g. "kv". */
  name: string;
  close(): Promise<void> | void;
}

/** Shutdown steps that failed; `errors` holds each step's own error, in the order the steps ran. */
export class ShutdownError extends AggregateError {
  override readonly name = 'ShutdownError';

  constructor(
    errors: unknown[],
    /** The names of the steps that failed. */
    readonly steps: readonly string[],
  ) {
    super(errors, `shutdown failed: ${steps.map((step, i) => `${step}: ${errorMessage(errors[i])}`).join('; ')}`);
  }
}

/**
 * Runs every step in order — a group (an array) concurrently — even after one failed, so a failing
 * step never leaves the ones after it open. Each failure is logged as it happens; if any failed, a
 * ShutdownError carrying all of them is thrown once every step has run.
 */
export async function shutDown(steps: readonly (ShutdownStep | readonly ShutdownStep[])[], log: (line: string) => void): Promise<void> {
  const errors: unknown[] = [];
  const failed: string[] = [];
  const run = async (step: ShutdownStep) => {
    try {
      await step.close();
    } catch (error) {
      log(`stopping: ${step.name} failed: ${errorMessage(error)}`);
      errors.push(error);
      failed.push(step.name);
    }
  };
  for (const step of steps) {
    if (Array.isArray(step)) await Promise.all(step.map(run));
    else await run(step as ShutdownStep);
  }
  if (errors.length > 0) throw new ShutdownError(errors, failed);
}
