import type { AgentConfig, ExecutionOptions, ProjectConfig, SchemaDefinition, SchemaRef, TaskConfig, TaskType, ToolConfig, Transition, WorkflowConfig } from '../config/types.js';
import { parseDuration } from '../config/duration.js';

/**
 * The JSON form of a workflow that the interpreter runs: parsed and validated config with schema ids
 * resolved and source locations dropped. It is the interpreter's input, so it lives in Temporal
 * history and must stay plain data.
 */
export type JsonSchema = Record<string, unknown>;

export interface TransitionDef {
  next?: string;
  with?: Record<string, unknown>;
}

/** How a task's activity is retried and timed (project `config:` → workflow `config:` → task `config:`, then `retries`/`timeout`). */
export interface ActivityOptions {
  startToCloseMs?: number;
  scheduleToCloseMs?: number;
  heartbeatMs?: number;
  retry: {
    initialIntervalMs?: number;
    backoffCoefficient?: number;
    maximumAttempts?: number;
    maximumIntervalMs?: number;
    nonRetryableErrorTypes?: string[];
  };
}

export interface TaskDef {
  id: string;
  type: TaskType;
  agent?: string;
  action?: string;
  tool?: string;
  prompt?: string;
  model?: string;
  with: Record<string, unknown>;
  inputSchema?: JsonSchema;
  outputSchema?: JsonSchema;
  outputs?: Record<string, unknown>;
  env: Record<string, string>;
  onSuccess?: TransitionDef;
  onError?: TransitionDef;
  /** Activity timeout for executing tasks; the waiting time for wait tasks. */
  timeoutMs?: number;
  retries?: number;
  /** A durable pause before the task runs. */
  sleepMs?: number;
  activity: ActivityOptions;
  condition?: string;
  routes?: Record<string, string | TaskDef>;
  tasks?: TaskDef[];
  strategy?: 'wait_all' | 'fail_fast' | 'best_effort' | 'race';
  maxWorkers?: number;
  items?: unknown;
  filter?: string;
  itemVar: string;
  indexVar: string;
  mode?: 'parallel' | 'sequential';
  batch?: number;
  task?: TaskDef;
  signal?: { id: string; payload: unknown };
  waitFor?: string;
  processor?: TaskDef;
  onTimeout?: string;
  memory?: { operation: string; memoryRef?: string; keyTemplate?: string; payload?: unknown };
}

export interface WorkflowDef {
  id: string;
  version?: string;
  description?: string;
  inputSchema?: JsonSchema;
  env: Record<string, string>;
  tasks: TaskDef[];
  outputs?: Record<string, unknown>;
  /** Nesting limit for parent tasks (limits.max_nesting_depth). */
  maxNestingDepth: number;
}

type Schemas = ReadonlyMap<string, SchemaDefinition>;

export function resolveSchema(ref: SchemaRef | undefined, schemas: Schemas): JsonSchema | undefined {
  if (!ref) return undefined;
  const schema = ref.kind === 'inline' ? ref.schema : schemas.get(ref.id)?.schema;
  if (!schema) return undefined;
  const { id: _id, ...body } = schema;
  void _id;
  return body;
}

function transition(t: Transition | undefined): TransitionDef | undefined {
  if (!t) return undefined;
  return { ...(t.next !== undefined ? { next: t.next } : {}), ...(Object.keys(t.with).length > 0 ? { with: t.with } : {}) };
}

function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

function mergeExecution(...levels: ExecutionOptions[]): ExecutionOptions {
  const out: ExecutionOptions = {};
  for (const level of levels) {
    Object.assign(out, { ...level, retryPolicy: { ...out.retryPolicy, ...level.retryPolicy } });
  }
  return out;
}

/** The task's own `timeout` bounds the tool or model call itself; these bound the activity around it. */
function activityOptions(execution: ExecutionOptions, task: TaskConfig): ActivityOptions {
  const policy = execution.retryPolicy ?? {};
  const set = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    ...set('startToCloseMs', durationMs(execution.startToCloseTimeout)),
    ...set('scheduleToCloseMs', durationMs(execution.scheduleToCloseTimeout)),
    ...set('heartbeatMs', durationMs(execution.heartbeatTimeout)),
    retry: {
      ...set('initialIntervalMs', durationMs(policy.initialInterval)),
      ...set('maximumIntervalMs', durationMs(policy.maximumInterval)),
      ...set('backoffCoefficient', policy.backoffCoefficient),
      ...set('maximumAttempts', task.retries !== undefined ? task.retries + 1 : policy.maximumAttempts),
      ...set('nonRetryableErrorTypes', policy.nonRetryableErrorTypes),
    },
  };
}

function taskDef(task: TaskConfig, schemas: Schemas, inherited: ExecutionOptions): TaskDef {
  const execution = mergeExecution(inherited, task.execution);
  const def: TaskDef = {
    id: task.id,
    type: task.type,
    with: task.with,
    env: task.env,
    itemVar: task.itemVar,
    indexVar: task.indexVar,
    activity: activityOptions(execution, task),
  };
  const set = <K extends keyof TaskDef>(key: K, value: TaskDef[K] | undefined) => {
    if (value !== undefined) def[key] = value;
  };
  set('agent', typeof task.agent === 'object' ? task.agent.id : task.agent);
  set('action', task.action);
  set('tool', typeof task.tool === 'object' ? task.tool.id : task.tool);
  set('prompt', task.prompt);
  set('model', task.model);
  set('inputSchema', resolveSchema(task.input, schemas));
  set('outputSchema', resolveSchema(task.output, schemas));
  set('outputs', task.outputs);
  set('onSuccess', transition(task.onSuccess));
  set('onError', transition(task.onError));
  set('timeoutMs', durationMs(task.timeout));
  set('retries', task.retries);
  set('sleepMs', durationMs(task.sleep));
  set('condition', task.condition);
  if (task.routes) {
    def.routes = Object.fromEntries(Object.entries(task.routes).map(([key, route]) => [key, typeof route === 'string' ? route : taskDef(route, schemas, inherited)]));
  }
  set('tasks', task.tasks?.map((child) => taskDef(child, schemas, inherited)));
  set('strategy', task.strategy);
  set('maxWorkers', task.maxWorkers);
  set('items', task.items);
  set('filter', task.filter);
  set('mode', task.mode);
  set('batch', task.batch);
  set('task', task.task ? taskDef(task.task, schemas, inherited) : undefined);
  set('signal', task.signal);
  set('waitFor', task.waitFor);
  set('processor', task.processor ? taskDef(task.processor, schemas, inherited) : undefined);
  set('onTimeout', task.onTimeout);
  if (task.type === 'memory') {
    def.memory = {
      operation: task.operation ?? '',
      ...(task.memoryRef !== undefined ? { memoryRef: task.memoryRef } : {}),
      ...(task.keyTemplate !== undefined ? { keyTemplate: task.keyTemplate } : {}),
      ...(task.payload !== undefined ? { payload: task.payload } : {}),
    };
  }
  return def;
}

export function schemaIndex(project: ProjectConfig, workflow: WorkflowConfig): Schemas {
  return new Map([...project.schemas, ...workflow.schemas].map((s) => [s.id, s]));
}

export function workflowDef(project: ProjectConfig, workflow: WorkflowConfig, maxNestingDepth: number): WorkflowDef {
  const schemas = schemaIndex(project, workflow);
  const inherited = mergeExecution(project.execution, workflow.execution);
  const def: WorkflowDef = { id: workflow.id, env: workflow.env, tasks: workflow.tasks.map((t) => taskDef(t, schemas, inherited)), maxNestingDepth };
  const inputSchema = resolveSchema(workflow.input, schemas);
  if (inputSchema) def.inputSchema = inputSchema;
  if (workflow.version !== undefined) def.version = workflow.version;
  if (workflow.description !== undefined) def.description = workflow.description;
  if (workflow.outputs) def.outputs = workflow.outputs;
  return def;
}

/** Tools and agents a task may name: the workflow's own, inline ones, then the project's autoloaded ones. */
export interface ResourceIndex {
  /** With the tool's input and output schemas resolved once. */
  tools: Map<string, { tool: ToolConfig; inputSchema?: JsonSchema; outputSchema?: JsonSchema }>;
  agents: Map<string, { agent: AgentConfig; schemas: Schemas }>;
}

export function resourceIndex(project: ProjectConfig): ResourceIndex {
  const index: ResourceIndex = { tools: new Map(), agents: new Map() };
  const projectSchemas: Schemas = new Map(project.schemas.map((s) => [s.id, s]));
  const addTool = (tool: ToolConfig, schemas: Schemas) => {
    const inputSchema = resolveSchema(tool.input, schemas);
    const outputSchema = resolveSchema(tool.output, schemas);
    index.tools.set(tool.id, { tool, ...(inputSchema ? { inputSchema } : {}), ...(outputSchema ? { outputSchema } : {}) });
  };
  for (const tool of project.tools) addTool(tool, projectSchemas);
  for (const agent of project.agents) index.agents.set(agent.id, { agent, schemas: projectSchemas });
  for (const workflow of project.workflows) {
    const schemas = schemaIndex(project, workflow);
    for (const tool of workflow.tools) addTool(tool, schemas);
    for (const agent of workflow.agents) index.agents.set(agent.id, { agent, schemas });
    const visit = (task: TaskConfig): void => {
      if (typeof task.tool === 'object') addTool(task.tool, schemas);
      if (typeof task.agent === 'object') index.agents.set(task.agent.id, { agent: task.agent, schemas });
      [...(task.tasks ?? []), ...(task.task ? [task.task] : []), ...(task.processor ? [task.processor] : [])].forEach(visit);
      Object.values(task.routes ?? {}).forEach((route) => typeof route === 'object' && visit(route));
    };
    workflow.tasks.forEach(visit);
  }
  return index;
}
