import type { ErrorCode } from '../errors.js';
import type { ExecutionError } from '../store/store.js';

/**
 * An error the engine writes itself (into a task state, an execution, or a workflow's failure), with
 * a code from the typed set. Plain data, so the interpreter workflow uses it too.
 */
export function engineError(code: ErrorCode, message: string, details?: Record<string, unknown>): ExecutionError {
  return { code, message, ...(details ? { details } : {}) };
}
