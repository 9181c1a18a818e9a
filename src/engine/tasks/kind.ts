import type { ExecutionOptions, SchemaDefinition, TaskConfig, TaskConfigOf, TaskType } from '../../config/types.js';
import type { TemplateEngine } from '../../expr/template.js';
import type { TaskBase, TaskDefOf, TaskDef } from '../definition.js';
import type { EngineDeps } from '../executors.js';

/** What a kind's compile step may use: the schemas in scope, inherited execution options, and the compiler for child tasks. */
export interface CompileContext {
  schemas: ReadonlyMap<string, SchemaDefinition>;
  inherited: ExecutionOptions;
  /** Memory resource id → its key template (reference §5.1: the default key of the memory's tasks). */
  memoryKeys: ReadonlyMap<string, string>;
  /** Compiles a child task (a parent's tasks, a collection's template, a processor, an inline route). */
  child(config: TaskConfig): TaskDef;
}

/** The fields a kind adds to the common ones of every task. */
export type OwnFields<T extends TaskType> = Omit<TaskDefOf<T>, keyof TaskBase<T>>;

/**
 * One task type's home: how its config (narrowed to the type, whose YAML keys config/types
 * TASK_TYPE_FIELDS lists) compiles into the definition the interpreter runs.
 */
export interface TaskKind<T extends TaskType> {
  readonly type: T;
  compile(config: TaskConfigOf<T>, ctx: CompileContext): OwnFields<T>;
  /**
   * The definition's own values that are rendered with the execution's context (templates and CEL
   * expressions beside `with`, `outputs` and the transitions), so the store is asked only for the task
   * states they name.
   */
  templated(def: TaskDefOf<T>): { templates: unknown[]; cel: string[] };
}

/** What an activity handler of a task kind may use. */
export interface HandlerContext {
  deps: EngineDeps;
  templates: TemplateEngine;
  render(value: unknown, vars: Record<string, unknown>): unknown;
}

/** What an executing task (basic, signal, memory) produced: its raw output and, for agents, token usage. */
export interface TaskRunResult {
  raw: unknown;
  usage?: unknown;
}
