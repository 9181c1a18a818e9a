import { projectMemories } from '../config/memory-resource.js';
import { CompozyError } from '../errors.js';
import { describeProblems, type SchemaValidator } from '../platform/schema-validator.js';
import { agentMcpIds } from '../config/mcp-servers.js';
import { childTasks, type AgentConfig, type ExecutionOptions, type ProjectConfig, type SchemaDefinition, type TaskConfig, type TaskType, type ToolConfig, type WorkflowConfig } from '../config/types.js';
import type { AggregateTaskDef } from './tasks/aggregate.js';
import type { BasicTaskDef } from './tasks/basic.js';
import type { CollectionTaskDef } from './tasks/collection.js';
import { compileBase, mergeExecution, resolveSchema } from './tasks/compile.js';
import type { CompositeTaskDef } from './tasks/composite.js';
import { TASK_KINDS } from './tasks/index.js';
import { taskReads } from './task-reads.js';
import type { CompileContext, TaskKind } from './tasks/kind.js';
import type { MemoryTaskDef } from './tasks/memory.js';
import type { ParallelTaskDef } from './tasks/parallel.js';
import type { RouterTaskDef } from './tasks/router.js';
import type { SignalTaskDef } from './tasks/signal.js';
import type { WaitTaskDef } from './tasks/wait.js';

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

/** What every task type has; `src/engine/tasks/<type>.ts` adds the fields of its own type. */
export interface TaskBase<T extends TaskType> {
  id: string;
  type: T;
  with: Record<string, unknown>;
  env: Record<string, string>;
  inputSchema?: JsonSchema;
  outputSchema?: JsonSchema;
  outputs?: Record<string, unknown>;
  onSuccess?: TransitionDef;
  onError?: TransitionDef;
  /** Activity timeout for executing tasks; the waiting time for wait tasks. */
  timeoutMs?: number;
  /** A durable pause before the task runs. */
  sleepMs?: number;
  activity: ActivityOptions;
  /** The task ids whose states its templates read (`.tasks.<id>`); absent: it may read any. */
  reads?: string[];
}

export type TaskDef =
  | BasicTaskDef
  | RouterTaskDef
  | ParallelTaskDef
  | CollectionTaskDef
  | AggregateTaskDef
  | CompositeTaskDef
  | SignalTaskDef
  | WaitTaskDef
  | MemoryTaskDef;

export type TaskDefOf<T extends TaskType> = Extract<TaskDef, { type: T }>;

/** The types with side effects, run as regular activities (executeTask) on any worker. */
export type ExecutingTaskDef = BasicTaskDef | SignalTaskDef | MemoryTaskDef;

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

export { resolveSchema };

/** The common fields, then the ones the task's type compiles (TASK_KINDS). */
function compileTask(task: TaskConfig, schemas: Schemas, inherited: ExecutionOptions, memoryKeys: ReadonlyMap<string, string>): TaskDef {
  const ctx: CompileContext = { schemas, inherited, memoryKeys, child: (child) => compileTask(child, schemas, inherited, memoryKeys) };
  const kind = TASK_KINDS[task.type] as TaskKind<TaskType>;
  const def = { ...compileBase(task, schemas, inherited), ...kind.compile(task, ctx) } as TaskDef;
  const reads = readsOf(def, kind);
  if (reads) def.reads = reads;
  return def;
}

/**
 * What the task's templates read. An agent or a direct prompt reads everything: its instructions, its
 * action's prompt and the replay model's answers are rendered over the whole context.
 */
function readsOf(def: TaskDef, kind: TaskKind<TaskType>): string[] | undefined {
  if (def.type === 'basic' && (def.agent !== undefined || def.prompt !== undefined)) return undefined;
  const own = kind.templated(def);
  return taskReads({ templates: [def.with, def.outputs, def.onSuccess, def.onError, ...own.templates], cel: own.cel });
}

export function schemaIndex(project: ProjectConfig, workflow: WorkflowConfig): Schemas {
  return new Map([...project.schemas, ...workflow.schemas].map((s) => [s.id, s]));
}

/** Refuses input that does not match a workflow's input schema, listing every problem (INPUT_INVALID). */
export function checkWorkflowInput(validator: SchemaValidator, workflowId: string, schema: JsonSchema | undefined, input: unknown): void {
  if (!schema) return;
  const errors = validator.problems(schema, input ?? {});
  if (errors.length > 0) {
    throw new CompozyError('INPUT_INVALID', `Input does not match the input schema of workflow ${workflowId}: ${describeProblems(errors)}.`, { details: { errors } });
  }
}

export function workflowDef(project: ProjectConfig, workflow: WorkflowConfig, maxNestingDepth: number): WorkflowDef {
  const schemas = schemaIndex(project, workflow);
  const inherited = mergeExecution(project.execution, workflow.execution);
  const memoryKeys = new Map(projectMemories(project).flatMap((m) => (m.key !== undefined ? [[m.id, m.key] as const] : [])));
  const def: WorkflowDef = { id: workflow.id, env: workflow.env, tasks: workflow.tasks.map((t) => compileTask(t, schemas, inherited, memoryKeys)), maxNestingDepth };
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
  /** With the ids of the MCP servers whose tools the agent is offered (the project's, its workflow's, its own). */
  agents: Map<string, { agent: AgentConfig; schemas: Schemas; mcps: string[] }>;
}

export function resourceIndex(project: ProjectConfig): ResourceIndex {
  const index: ResourceIndex = { tools: new Map(), agents: new Map() };
  const projectSchemas: Schemas = new Map(project.schemas.map((s) => [s.id, s]));
  const addTool = (tool: ToolConfig, schemas: Schemas) => {
    const inputSchema = resolveSchema(tool.input, schemas);
    const outputSchema = resolveSchema(tool.output, schemas);
    index.tools.set(tool.id, { tool, ...(inputSchema ? { inputSchema } : {}), ...(outputSchema ? { outputSchema } : {}) });
  };
  const projectMcps = project.mcps;
  for (const tool of project.tools) addTool(tool, projectSchemas);
  for (const agent of project.agents) index.agents.set(agent.id, { agent, schemas: projectSchemas, mcps: agentMcpIds(agent, projectMcps) });
  for (const workflow of project.workflows) {
    const schemas = schemaIndex(project, workflow);
    const inherited = [...projectMcps, ...workflow.mcps];
    for (const tool of workflow.tools) addTool(tool, schemas);
    for (const agent of workflow.agents) index.agents.set(agent.id, { agent, schemas, mcps: agentMcpIds(agent, inherited) });
    const visit = (task: TaskConfig): void => {
      if (task.type === 'basic' && typeof task.tool === 'object') addTool(task.tool, schemas);
      if (task.type === 'basic' && typeof task.agent === 'object') index.agents.set(task.agent.id, { agent: task.agent, schemas, mcps: agentMcpIds(task.agent, inherited) });
      childTasks(task).forEach(visit);
    };
    workflow.tasks.forEach(visit);
  }
  return index;
}
