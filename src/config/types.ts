import type { NativeToolsConfig } from './native-tools.js';
import type { WorkflowSchedule } from './schedule.js';
import type { YamlFile, YamlPath } from './yaml-file.js';

/** Where a config object was written, so later checks can point at it. */
export interface Located {
  file: YamlFile;
  path: YamlPath;
}

export type SchemaRef = { kind: 'id'; id: string; at: Located } | { kind: 'inline'; schema: Record<string, unknown>; at: Located };

export interface SchemaDefinition extends Located {
  id: string;
  schema: Record<string, unknown>;
}

export interface ModelConfig extends Located {
  provider: string;
  model: string;
  apiKey?: string;
  apiUrl?: string;
  isDefault: boolean;
  params: Record<string, unknown>;
}

/** What calling a model needs, without where it was written: what a compiled task carries to the worker. */
export type ModelSpec = Pick<ModelConfig, 'provider' | 'model' | 'apiKey' | 'apiUrl' | 'params'>;

export interface ToolConfig extends Located {
  id: string;
  description?: string;
  input?: SchemaRef;
  output?: SchemaRef;
  with: Record<string, unknown>;
  config: Record<string, unknown>;
  env: Record<string, string>;
  timeout?: string;
}

export interface ActionConfig extends Located {
  id: string;
  prompt: string;
  input?: SchemaRef;
  output?: SchemaRef;
  jsonMode: boolean;
}

export interface MemoryRef extends Located {
  id: string;
  key?: string;
  mode: 'read-write' | 'read-only';
}

export const MCP_TRANSPORTS = ['stdio', 'sse', 'streamable-http'] as const;
export type McpTransport = (typeof MCP_TRANSPORTS)[number];

/** One MCP server (reference engine/mcp/config.go), with the Go engine's defaults applied. */
export interface McpServerConfig extends Located {
  id: string;
  transport: McpTransport;
  /** stdio: the program, with arguments split on spaces as written; args: follow them. */
  command?: string;
  args: string[];
  /** stdio: added to the process's environment; values are templates over `.env`. */
  env: Record<string, string>;
  /** sse, streamable-http: the server's endpoint. */
  url?: string;
  /** sse, streamable-http: sent with every request; values are templates over `.env`. */
  headers: Record<string, string>;
  /** The oldest protocol version (YYYY-MM-DD) the server may negotiate; undefined accepts any the SDK speaks. */
  proto?: string;
  /** How long connecting (spawning, initialize, listing tools) may take. */
  startTimeoutMs: number;
  /** Tool calls in flight on the server at once; 0 is no limit. */
  maxSessions: number;
}

/** An agent's `mcps: [<id>]` entry: a server declared elsewhere (the project, a workflow, another agent). */
export interface McpServerRef extends Located {
  id: string;
}

export interface AgentConfig extends Located {
  id: string;
  /** MCP servers the agent declares itself, and the ids of declared ones it uses. */
  mcps: McpServerConfig[];
  mcpRefs: McpServerRef[];
  /** `provider:model`, a model id, or undefined for the project's default model. */
  model?: string | ModelConfig;
  instructions?: string;
  tools: string[];
  actions: ActionConfig[];
  memory: MemoryRef[];
  maxIterations?: number;
  jsonMode: boolean;
}

export const MEMORY_TYPES = ['token_based', 'message_count_based', 'buffer'] as const;
export type MemoryType = (typeof MEMORY_TYPES)[number];
export const MEMORY_FLUSH_STRATEGIES = ['simple_fifo', 'hybrid_summary', 'lru', 'token_aware_lru'] as const;
export type MemoryFlushStrategy = (typeof MEMORY_FLUSH_STRATEGIES)[number];
export const MEMORY_EVICTION_POLICIES = ['fifo', 'lru', 'priority'] as const;
export type MemoryEvictionPolicy = (typeof MEMORY_EVICTION_POLICIES)[number];

/** A `resource: memory` file (reference §5.1), parsed with its defaults applied; durations in milliseconds. */
export interface MemoryResource extends Located {
  id: string;
  description?: string;
  version?: string;
  /** Default key template; a memory task's key_template or an agent memory ref's key overrides it. */
  key?: string;
  type: MemoryType;
  maxTokens?: number;
  maxMessages?: number;
  /** Share (0..1] of the model's context window the history may fill. */
  maxContextRatio?: number;
  tokenAllocation?: { shortTerm: number; longTerm: number; system: number };
  flushing: {
    type: MemoryFlushStrategy;
    summarizeThreshold: number;
    summaryTokens?: number;
    summarizeOldestPercent: number;
    /** hybrid_summary only: the model that writes the summary, named as an agent's model is (provider:model or a declared model id); rule-based without it. */
    summaryModel?: string;
  };
  evictionPolicy: { type: MemoryEvictionPolicy; priorityKeywords: string[] };
  persistence: {
    type: 'redis' | 'in_memory';
    /** Absent only for in_memory. */
    ttlMs?: number;
    circuitBreaker?: { enabled: boolean; maxFailures: number; resetTimeoutMs: number };
  };
  privacyPolicy: { redactPatterns: string[]; nonPersistableMessageTypes: string[]; defaultRedactionString: string };
  locking: { clearTtlMs: number; flushTtlMs: number };
  /** The tokenizer that counts the messages: the gpt-tokenizer encoding of an OpenAI model, or an encoding named directly. */
  tokenProvider?: { provider: string; model: string; encoding: string; contextWindow?: number };
}

/** Retry and timeout options (`config:` of the project, a workflow or a task; reference §2.4 GlobalOpts). */
export interface ExecutionOptions {
  retryPolicy?: {
    initialInterval?: string;
    backoffCoefficient?: number;
    maximumAttempts?: number;
    maximumInterval?: string;
    nonRetryableErrorTypes?: string[];
  };
  startToCloseTimeout?: string;
  scheduleToCloseTimeout?: string;
  heartbeatTimeout?: string;
}

export const TASK_TYPES = ['basic', 'router', 'parallel', 'collection', 'aggregate', 'composite', 'signal', 'wait', 'memory'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** Reference §5.5: the roles a memory message may have. */
export const MEMORY_ROLES = ['system', 'user', 'assistant', 'tool'] as const;

/** The operations of a memory task (and of the memory service). */
export const MEMORY_OPERATIONS = ['read', 'write', 'append', 'delete', 'flush', 'health', 'clear', 'stats'] as const;
export type MemoryOperationName = (typeof MEMORY_OPERATIONS)[number];

/** Reference §2.5 (memory task): max_keys ≤ 50,000 (default 1,000), batch_size ≤ 10,000 (default 100). */
export const MEMORY_OPERATION_LIMITS = { maxKeys: 50_000, defaultMaxKeys: 1000, batchSize: 10_000, defaultBatchSize: 100 } as const;

export interface Transition extends Located {
  next?: string;
  with: Record<string, unknown>;
}

/** How a parent judges its children (reference §2.5 parallel). */
export const TASK_STRATEGIES = ['wait_all', 'fail_fast', 'best_effort', 'race'] as const;
export type TaskStrategy = (typeof TASK_STRATEGIES)[number];

/** What every task has, whatever its type (reference §2.4). */
export interface TaskConfigBase<T extends TaskType> extends Located {
  id: string;
  type: T;
  with: Record<string, unknown>;
  input?: SchemaRef;
  output?: SchemaRef;
  outputs?: Record<string, unknown>;
  env: Record<string, string>;
  onSuccess?: Transition;
  onError?: Transition;
  final: boolean;
  sleep?: string;
}

/**
 * What the types that run as an activity (a tool or model call, a signal, a memory operation) add:
 * `timeout` bounds the call, `retries` and `config:` (`execution`) shape the activity. The interpreter
 * reads them for no other type.
 */
export interface ExecutingTaskFields {
  timeout?: string;
  retries?: number;
  execution: ExecutionOptions;
}

export interface BasicTaskConfig extends TaskConfigBase<'basic'>, ExecutingTaskFields {
  /** An agent id, or an inline agent. */
  agent?: string | AgentConfig;
  action?: string;
  tool?: string | ToolConfig;
  prompt?: string;
  /** `model:` (provider:model or a declared model id), or `model_config:` (an inline model or a `$ref` to a declared one). */
  model?: string | ModelConfig;
}

export interface RouterTaskConfig extends TaskConfigBase<'router'> {
  condition?: string;
  routes: Record<string, string | TaskConfig>;
}

export interface ParallelTaskConfig extends TaskConfigBase<'parallel'> {
  tasks: TaskConfig[];
  strategy?: TaskStrategy;
  maxWorkers?: number;
}

export interface CollectionTaskConfig extends TaskConfigBase<'collection'> {
  items?: unknown;
  filter?: string;
  itemVar: string;
  indexVar: string;
  mode?: 'parallel' | 'sequential';
  batch?: number;
  task?: TaskConfig;
  tasks?: TaskConfig[];
  strategy?: TaskStrategy;
  maxWorkers?: number;
}

export type AggregateTaskConfig = TaskConfigBase<'aggregate'>;

export interface CompositeTaskConfig extends TaskConfigBase<'composite'> {
  tasks: TaskConfig[];
  strategy?: TaskStrategy;
}

export interface SignalTaskConfig extends TaskConfigBase<'signal'>, ExecutingTaskFields {
  signal?: { id: string; payload: unknown };
}

export interface WaitTaskConfig extends TaskConfigBase<'wait'> {
  /** How long it waits for a matching signal. */
  timeout?: string;
  waitFor?: string;
  condition?: string;
  processor?: TaskConfig;
  onTimeout?: string;
}

export interface MemoryTaskConfig extends TaskConfigBase<'memory'>, ExecutingTaskFields {
  operation?: string;
  memoryRef?: string;
  keyTemplate?: string;
  payload?: unknown;
  memoryOptions?: MemoryTaskOptions;
}

/** A loaded task: its type decides which fields it has (TASK_TYPE_FIELDS holds their YAML keys). */
export type TaskConfig =
  | BasicTaskConfig
  | RouterTaskConfig
  | ParallelTaskConfig
  | CollectionTaskConfig
  | AggregateTaskConfig
  | CompositeTaskConfig
  | SignalTaskConfig
  | WaitTaskConfig
  | MemoryTaskConfig;

export type TaskConfigOf<T extends TaskType> = Extract<TaskConfig, { type: T }>;

/** The YAML keys every task type accepts. */
export const COMMON_TASK_FIELDS = [
  'id', 'type', 'resource', 'description', 'with', 'input', 'output', 'outputs', 'env', 'on_success', 'on_error', 'final', 'sleep', '$use', '$ref',
] as const;

const EXECUTING_FIELDS = { timeout: 'timeout', retries: 'retries', execution: 'config' } as const satisfies { [K in keyof ExecutingTaskFields]-?: string };

/**
 * Each type's own YAML keys, by the config field they fill (memoryOptions is filled by several). The
 * mapped type makes this table and the per-type interfaces above one definition: a field added to a
 * type's config without its key here, or a key for a field the type does not have, does not compile.
 */
export const TASK_TYPE_FIELDS: { readonly [T in TaskType]: { readonly [K in Exclude<keyof TaskConfigOf<T>, keyof TaskConfigBase<T>>]-?: string | readonly string[] } } = {
  basic: { agent: 'agent', action: 'action', tool: 'tool', prompt: 'prompt', model: ['model', 'model_config'], ...EXECUTING_FIELDS },
  router: { condition: 'condition', routes: 'routes' },
  parallel: { tasks: 'tasks', strategy: 'strategy', maxWorkers: 'max_workers' },
  collection: {
    items: 'items', filter: 'filter', itemVar: 'item_var', indexVar: 'index_var', mode: 'mode', batch: 'batch', task: 'task', tasks: 'tasks', strategy: 'strategy', maxWorkers: 'max_workers',
  },
  aggregate: {},
  composite: { tasks: 'tasks', strategy: 'strategy' },
  signal: { signal: 'signal', ...EXECUTING_FIELDS },
  wait: { timeout: 'timeout', waitFor: 'wait_for', condition: 'condition', processor: 'processor', onTimeout: 'on_timeout' },
  memory: {
    ...EXECUTING_FIELDS,
    operation: 'operation', memoryRef: 'memory_ref', keyTemplate: 'key_template', payload: 'payload',
    memoryOptions: ['batch_size', 'max_keys', 'flush_config', 'health_config', 'stats_config', 'clear_config'],
  },
};

/** The YAML keys a task of this type accepts: the common ones and its own. */
export function taskFields(type: TaskType): ReadonlySet<string> {
  return new Set<string>([...COMMON_TASK_FIELDS, ...Object.values(TASK_TYPE_FIELDS[type]).flat()]);
}

/** The types whose own fields include this YAML key (none for a common or an unknown key). */
export function taskTypesWithField(key: string): TaskType[] {
  return TASK_TYPES.filter((type) => (Object.values(TASK_TYPE_FIELDS[type]) as (string | readonly string[])[]).flat().includes(key));
}

/** The tasks a task holds: a parent's tasks, a collection's template, a wait's processor, inline routes. */
export function childTasks(task: TaskConfig): TaskConfig[] {
  switch (task.type) {
    case 'parallel':
    case 'composite':
      return task.tasks;
    case 'collection':
      return [...(task.task ? [task.task] : []), ...(task.tasks ?? [])];
    case 'wait':
      return task.processor ? [task.processor] : [];
    case 'router':
      return Object.values(task.routes).filter((route): route is TaskConfig => typeof route === 'object');
    default:
      return [];
  }
}

/** A memory task's batch_size, max_keys and per-operation configs (reference §2.5). */
export interface MemoryTaskOptions {
  batchSize?: number;
  maxKeys?: number;
  flush?: { strategy?: MemoryFlushStrategy; maxKeys?: number; dryRun?: boolean; force?: boolean; threshold?: number };
  health?: { includeStats?: boolean };
  stats?: { includeContent?: boolean };
  clear?: { confirm?: boolean; backup?: boolean };
}

/** A signal trigger: an event with this name starts the workflow. */
export interface SignalTrigger extends Located {
  type: 'signal';
  name?: string;
  schema?: SchemaRef;
}

export type WebhookStrategy = 'none' | 'hmac' | 'stripe' | 'github';

/** One routable event of a webhook: the first whose CEL `filter` holds starts the workflow with `input` rendered from the body. */
export interface WebhookEvent {
  name: string;
  filter: string;
  input: Record<string, string>;
  schema?: SchemaRef;
}

/** A webhook trigger: POST /api/v0/hooks/<slug>, its signature checked by `verify`, routed by its events. */
export interface WebhookTrigger extends Located {
  type: 'webhook';
  slug: string;
  method: 'POST' | 'PUT' | 'PATCH';
  events: WebhookEvent[];
  /** `secret` as written (a literal or an env reference, resolved per request); `skewMs` only for stripe. */
  verify: { strategy: WebhookStrategy; secret?: string; header?: string; skewMs?: number };
}

export type Trigger = SignalTrigger | WebhookTrigger;

export interface WorkflowConfig extends Located {
  id: string;
  version?: string;
  description?: string;
  schemas: SchemaDefinition[];
  input?: SchemaRef;
  env: Record<string, string>;
  tools: ToolConfig[];
  agents: AgentConfig[];
  tasks: TaskConfig[];
  triggers: Trigger[];
  /** MCP servers whose tools every agent of this workflow is offered. */
  mcps: McpServerConfig[];
  /** `resources.memories: [{id, source}]`: memory resources this workflow brings, loaded from their files. */
  memories: MemoryResource[];
  outputs?: Record<string, unknown>;
  execution: ExecutionOptions;
  /** `schedule:`: reconciled into a Temporal Schedule by serve (triggers/schedules.ts). */
  schedule?: WorkflowSchedule;
}

export interface ProjectConfig {
  name: string;
  version?: string;
  description?: string;
  dir: string;
  file: YamlFile;
  models: ModelConfig[];
  schemas: SchemaDefinition[];
  /** MCP servers whose tools every agent of the project is offered. */
  mcps: McpServerConfig[];
  /** nativeTools: runtime.native_tools, when the section is there (the built-in cp__ tools). */
  runtime: { type: string; entrypoint: string; permissions: string[]; nativeTools?: NativeToolsConfig; /** runtime.bun_bin, absolute. */ bunBin?: string };
  execution: ExecutionOptions;
  workflows: WorkflowConfig[];
  /** Resources found by autoload (agents/*.yaml, tools/*.yaml, memory/*.yaml). */
  agents: AgentConfig[];
  tools: ToolConfig[];
  memories: MemoryResource[];
  /** Task resources (`resource: task`: autoloaded tasks/*.yaml and the workflows' resources.tasks), each as read from its file. */
  tasks: TaskConfig[];
}
