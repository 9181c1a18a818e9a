/**
 * Every failure a user can see is a CompozyError with a stable code. The CLI maps the code to an
 * exit status and the HTTP API maps it to a status code, each in one place (exitCodeFor / httpStatusFor).
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'PROJECT_NOT_FOUND'
  | 'PORT_IN_USE'
  | 'ALREADY_RUNNING'
  | 'NOT_RUNNING'
  | 'TEMPORAL_BINARY_NOT_FOUND'
  | 'BUN_NOT_FOUND'
  | 'TEMPORAL_INSTALL_FAILED'
  | 'TEMPORAL_UNREACHABLE'
  | 'TEMPORAL_START_FAILED'
  | 'PROCESS_START_FAILED'
  | 'RESTART_LIMIT'
  | 'CHECK_FAILED'
  | 'WORKER_UNAVAILABLE'
  | 'KV_OPEN_FAILED'
  | 'KV_INVALID_ARGUMENT'
  | 'KV_VALUE_TOO_LARGE'
  | 'KV_WRONG_TYPE'
  | 'KV_NOT_INTEGER'
  | 'KV_UNAVAILABLE'
  | 'KV_CLOSED'
  | 'LOCK_NOT_OWNED'
  | 'LOCK_NOT_HELD'
  | 'LOCK_TIMEOUT'
  | 'CEL_INVALID'
  | 'CEL_FAILED'
  | 'ROUTE_NOT_FOUND'
  | 'STORE_NOT_FOUND'
  | 'STORE_INVALID_ARGUMENT'
  | 'STORE_OPEN_FAILED'
  | 'STORE_UNAVAILABLE'
  | 'DISK_FULL'
  | 'TOOL_NOT_FOUND'
  | 'TOOL_FAILED'
  | 'TOOL_TIMEOUT'
  | 'TOOL_CRASHED'
  | 'TOOL_INPUT_INVALID'
  | 'TOOL_OUTPUT_INVALID'
  | 'TOOL_RESULT_TOO_LARGE'
  | 'TOOL_RESULT_INVALID'
  | 'TOOL_ENTRYPOINT_FAILED'
  | 'TOOL_ENV_REJECTED'
  | 'MCP_NOT_FOUND'
  | 'MCP_UNAVAILABLE'
  | 'MCP_TOOL_CONFLICT'
  | 'MCP_TOOL_FAILED'
  | 'BROKER_NOT_FOUND'
  | 'BROKER_LEASE_LOST'
  | 'WORKFLOW_NOT_FOUND'
  | 'EXECUTION_NOT_FOUND'
  | 'EXECUTION_NOT_RUNNING'
  | 'INVALID_EXEC_ID'
  | 'INPUT_INVALID'
  | 'OUTPUT_INVALID'
  | 'TASK_FAILED'
  | 'TASK_TIMED_OUT'
  | 'TEMPLATE_ERROR'
  | 'WAIT_TIMEOUT'
  | 'WAIT_TASK_ERROR'
  | 'CANCELED'
  | 'OUTPUT_TRANSFORMATION_FAILED'
  /** A parent task whose children failed; lower case as Compozy's engine writes it. */
  | 'child_task_failure'
  | 'AGENT_NOT_FOUND'
  /** A task id the API was asked to execute that no workflow (or task resource) defines. */
  | 'TASK_NOT_FOUND'
  /** A task id several workflows define: the request must say which workflow's. */
  | 'TASK_AMBIGUOUS'
  /** A model, memory or schema id the resource API does not know. */
  | 'RESOURCE_NOT_FOUND'
  | 'LLM_MODEL_NOT_FOUND'
  | 'LLM_PROVIDER_UNKNOWN'
  | 'LLM_AUTH_FAILED'
  | 'LLM_RATE_LIMITED'
  | 'LLM_REQUEST_INVALID'
  | 'LLM_PROVIDER_ERROR'
  | 'LLM_TIMEOUT'
  | 'LLM_OUTPUT_INVALID'
  | 'LLM_REPLAY_MISSING'
  | 'MEMORY_UNAVAILABLE'
  | 'MEMORY_NOT_FOUND'
  /** A flush whose summary could not be made (the summary model failed): the conversation is left as it was. */
  | 'MEMORY_FLUSH_FAILED'
  | 'SIGNAL_FAILED'
  | 'TRIGGER_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  /** A /api/v0/hooks/<slug> no webhook trigger declares. */
  | 'WEBHOOK_NOT_FOUND'
  /** A webhook delivery whose signature does not verify. */
  | 'SIGNATURE_INVALID'
  | 'METHOD_NOT_ALLOWED'
  /** A webhook whose verify.secret cannot be resolved (an unset variable): the server's fault. */
  | 'WEBHOOK_MISCONFIGURED'
  | 'NESTING_TOO_DEEP'
  | 'PAYLOAD_TOO_LARGE'
  | 'OVERLOADED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED';

export class CompozyError extends Error {
  readonly code: ErrorCode;
  /** One line telling the user what to do about it. */
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CompozyError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['USAGE', 'CONFIG_INVALID', 'PROJECT_NOT_FOUND', 'PORT_IN_USE', 'INPUT_INVALID', 'WORKFLOW_NOT_FOUND', 'AGENT_NOT_FOUND', 'TOOL_NOT_FOUND', 'INVALID_EXEC_ID']);

export function exitCodeFor(error: unknown): number {
  return error instanceof CompozyError && USAGE_CODES.has(error.code) ? 2 : 1;
}

export function httpStatusFor(error: unknown): number {
  if (!(error instanceof CompozyError)) return 500;
  switch (error.code) {
    case 'USAGE':
    case 'CONFIG_INVALID':
    case 'INPUT_INVALID':
    case 'INVALID_EXEC_ID':
      return 400;
    case 'WORKFLOW_NOT_FOUND':
    case 'EXECUTION_NOT_FOUND':
    case 'TRIGGER_NOT_FOUND':
    case 'SCHEDULE_NOT_FOUND':
    case 'WEBHOOK_NOT_FOUND':
    case 'MEMORY_NOT_FOUND':
    case 'AGENT_NOT_FOUND':
    case 'TOOL_NOT_FOUND':
    case 'TASK_NOT_FOUND':
    case 'RESOURCE_NOT_FOUND':
    case 'MCP_NOT_FOUND':
      return 404;
    case 'EXECUTION_NOT_RUNNING':
    case 'TASK_AMBIGUOUS':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNAUTHORIZED':
    case 'SIGNATURE_INVALID':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'OVERLOADED':
    case 'RATE_LIMITED':
      return 429;
    case 'WORKER_UNAVAILABLE':
    case 'TEMPORAL_UNREACHABLE':
    case 'KV_UNAVAILABLE':
    case 'STORE_UNAVAILABLE':
    case 'MEMORY_UNAVAILABLE':
    case 'MCP_UNAVAILABLE':
      return 503;
    case 'DISK_FULL':
      return 507;
    default:
      return 500;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
