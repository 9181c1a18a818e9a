/** The API's envelopes: `{status, message, data}` on success, `{status, error: {code, message, details}}` on failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

const KEY_STORAGE = 'compozy.apiKey';

/** The API key this tab sends (kept for the tab only); needed when the server requires keys. */
export function apiKey(): string | undefined {
  return sessionStorage.getItem(KEY_STORAGE) ?? undefined;
}

export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

interface Envelope<T> {
  status: number;
  message?: string;
  data?: T;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

/**
 * One API call; resolves to `data`. A non-2xx answer rejects with its ApiError, except where `accept`
 * lists the status (the health route answers 503 with the full report when a component is not up).
 */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, accept: number[] = []): Promise<T> {
  const response = await fetch(`/api/v0${path}`, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Envelope<T>;
  try {
    parsed = JSON.parse(text) as Envelope<T>;
  } catch {
    throw new ApiError(response.status, 'BAD_RESPONSE', `${method} ${path} answered ${response.status} with a body that is not JSON`, {});
  }
  if (!response.ok && !accept.includes(response.status)) {
    const error = parsed.error ?? { code: `HTTP_${response.status}`, message: parsed.message ?? response.statusText };
    throw new ApiError(response.status, error.code, error.message, error.details ?? {});
  }
  return parsed.data as T;
}

export type Status = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'TIMED_OUT' | 'CANCELED' | 'PAUSED' | 'WAITING';

export type JsonSchema = Record<string, unknown>;

export interface ComponentHealth {
  name: string;
  backend: string;
  state: 'starting' | 'up' | 'degraded' | 'down';
  address?: string;
  path?: string;
  pid?: number;
  restarts?: number;
  lastExitCode?: number | null;
  detail?: string;
}

export interface HealthData {
  mode: string;
  project: string;
  status: ComponentHealth['state'];
  components?: ComponentHealth[];
  queue?: { pending: number; running: number; paused: number; limit: number | null; admitted: number; rejected: number };
}

export interface WorkflowTask {
  id: string;
  type: string;
  on_success: string | null;
  on_error: string | null;
  routes: Record<string, string> | null;
  wait_for: string | null;
  on_timeout: string | null;
  children: string[];
}

export interface Workflow {
  id: string;
  version: string | null;
  description: string | null;
  input: JsonSchema | null;
  tasks: WorkflowTask[];
  outputs: unknown;
}

export interface Execution {
  workflow_exec_id: string;
  workflow_id: string;
  status: Status;
  input: unknown;
  output: unknown;
  error: unknown;
  usage: unknown;
  created_at: string;
  updated_at: string;
}

export interface TaskState {
  task_exec_id: string;
  task_id: string;
  component: 'task' | 'agent' | 'tool';
  status: Status;
  execution_type: string;
  parent_state_id: string | null;
  agent_id: string | null;
  action_id: string | null;
  tool_id: string | null;
  input: unknown;
  output: unknown;
  error: unknown;
  usage: unknown;
  created_at: string;
  updated_at: string;
}

export interface ExecutionWithTasks extends Execution {
  tasks: Record<string, TaskState>;
}

export interface AgentAction {
  id: string;
  prompt: string;
  input: JsonSchema | null;
  output: JsonSchema | null;
  json_mode: boolean;
}

export interface Agent {
  id: string;
  model: unknown;
  instructions: string | null;
  tools: string[];
  actions: AgentAction[];
  memory: Array<{ id: string; key: string | null; mode: string }>;
  max_iterations: number | null;
  json_mode: boolean;
}

export interface Tool {
  id: string;
  description: string | null;
  input: JsonSchema | null;
  output: JsonSchema | null;
  env: string[];
  timeout: string | null;
}

/** A direct agent, task or tool execution's state (GET /executions/<kind>s/:exec_id and the sync answers). */
export interface DirectState {
  exec_id: string;
  status: Status;
  component: 'agent' | 'task' | 'tool';
  task_id: string;
  output: unknown;
  error: unknown;
  usage: unknown;
  created_at: string;
  updated_at: string;
}

/**
 * A sync direct execution: its output once it ended with SUCCESS. A run that failed answers 500 with the
 * task's error and the state in data, a run still going 408 with the state: both are shown, not thrown.
 */
export async function runDirect(kind: 'agents' | 'tools', id: string, body: Record<string, unknown>): Promise<{ state?: DirectState; output?: unknown; error?: ApiError }> {
  const response = await fetch(`/api/v0/${kind}/${encodeURIComponent(id)}/executions/sync`, {
    method: 'POST',
    headers: { ...authHeaders(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json()) as Envelope<{ state?: DirectState; output?: unknown }>;
  if (response.ok) return { ...(parsed.data ?? {}) };
  const error = parsed.error ?? { code: `HTTP_${response.status}`, message: parsed.message ?? response.statusText };
  return { ...(parsed.data?.state ? { state: parsed.data.state } : {}), error: new ApiError(response.status, error.code, error.message, error.details ?? {}) };
}

export interface MemoryResource {
  id: string;
  description: string | null;
  key: string | null;
  type: string;
  max_messages: number | null;
  max_tokens: number | null;
}

export interface MemoryPage {
  key: string;
  messages: Array<{ role: string; content: string }>;
  count: number;
  total_count: number;
  has_more: boolean;
  limit: number;
  offset: number;
}
