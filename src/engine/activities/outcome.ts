import { CompozyError, errorMessage, type ErrorCode } from '../../errors.js';
import type { ExecutionError, Status } from '../../store/store.js';
import { engineError } from '../engine-error.js';

export { engineError };

/**
 * How a failure is classified: which codes a retry cannot fix, which end a task TIMED_OUT, and how a
 * thrown error or a task's own output becomes the ExecutionError the store keeps.
 */

/** Failures a retry cannot fix: the config, the templates or the data are wrong. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TEMPLATE_ERROR', 'CEL_INVALID', 'CEL_FAILED', 'ROUTE_NOT_FOUND', 'INPUT_INVALID', 'OUTPUT_INVALID', 'TOOL_NOT_FOUND', 'TOOL_INPUT_INVALID',
  'TOOL_OUTPUT_INVALID', 'TOOL_RESULT_TOO_LARGE', 'TOOL_RESULT_INVALID', 'TOOL_ENV_REJECTED', 'TOOL_ENTRYPOINT_FAILED', 'MEMORY_NOT_FOUND', 'CONFIG_INVALID', 'AGENT_NOT_FOUND',
  'SIGNAL_FAILED', 'TRIGGER_NOT_FOUND', 'LLM_MODEL_NOT_FOUND', 'LLM_PROVIDER_UNKNOWN', 'LLM_AUTH_FAILED', 'LLM_REQUEST_INVALID', 'LLM_OUTPUT_INVALID', 'LLM_REPLAY_MISSING',
  'PAYLOAD_TOO_LARGE',
]);

/** Failures that end a task TIMED_OUT rather than FAILED. */
const TIMEOUTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['TOOL_TIMEOUT', 'LLM_TIMEOUT', 'TASK_TIMED_OUT']);


/** A thrown error's code: the engine's own, or one a tool, a provider or Node set. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

export function toExecutionError(error: unknown, fallbackCode: ErrorCode = 'TASK_FAILED'): ExecutionError {
  const details = error instanceof CompozyError ? error.details : undefined;
  return { message: errorMessage(error), code: codeOf(error) ?? fallbackCode, ...(details ? { details } : {}) };
}

/** Whether a retry cannot help: a permanent code, or one the task's retry policy names as non-retryable. */
export function isPermanent(error: unknown, nonRetryable: readonly string[] = []): boolean {
  const code = codeOf(error);
  return code !== undefined && ((PERMANENT as ReadonlySet<string>).has(code) || nonRetryable.includes(code));
}

/** The status a task ends with for this error. */
export function failureStatus(error: ExecutionError): Status {
  return error.code && (TIMEOUTS as ReadonlySet<string>).has(error.code) ? 'TIMED_OUT' : 'FAILED';
}

export function isFailed(status: Status): boolean {
  return status === 'FAILED' || status === 'TIMED_OUT';
}

/**
 * A task whose output reports an error counts as failed (reference §2.4): a non-empty `error`
 * (string, map with a message, or array), or `success: false`.
 */
export function outputFailure(output: unknown): ExecutionError | undefined {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return undefined;
  const { error, success } = output as Record<string, unknown>;
  if (typeof error === 'string' && error.trim() !== '') return engineError('TASK_FAILED', error);
  if (Array.isArray(error) && error.length > 0) return engineError('TASK_FAILED', error.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; '));
  if (error !== null && typeof error === 'object' && !Array.isArray(error)) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === 'string' && message !== '') return engineError('TASK_FAILED', message);
  }
  if (success === false || success === 'false') return engineError('TASK_FAILED', 'task output reports success: false');
  return undefined;
}
