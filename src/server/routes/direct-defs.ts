import type { BasicTaskConfig, ProjectConfig, WorkflowConfig } from '../../config/types.js';
import { workflowDef, type TaskDef, type WorkflowDef } from '../../engine/definition.js';
import type { EngineClient } from '../../engine/client.js';
import { CompozyError } from '../../errors.js';

/**
 * Direct executions (reference §8.4) as one-task definitions the interpreter runs like any workflow:
 * an agent's action or prompt, a tool call, or one task of a workflow. The definition's id names the
 * component (`agent:<id>`, `tool:<id>`, `task:<id>`), which is the execution's workflow_id in the store.
 */

export const DIRECT_KINDS = ['agent', 'task', 'tool'] as const;
export type DirectKind = (typeof DIRECT_KINDS)[number];

/** The kind of a stored execution's workflow id, or undefined for a workflow execution. */
export function directKindOf(workflowId: string): DirectKind | undefined {
  const prefix = workflowId.slice(0, workflowId.indexOf(':'));
  return (DIRECT_KINDS as readonly string[]).includes(prefix) ? (prefix as DirectKind) : undefined;
}

/** The Go engine's bounds for a direct or sync execution's timeout, in seconds (agentexec.DefaultTimeout / MaxTimeout; workflow sync the same). */
export const DEFAULT_TIMEOUT_S = 60;
export const MAX_TIMEOUT_S = 300;

/** A basic task with no children: the nesting limit never applies to it. */
const NO_NESTING = 1;

function oneTaskWorkflow(project: ProjectConfig, id: string, task: BasicTaskConfig): WorkflowDef {
  const config: WorkflowConfig = { id, file: task.file, path: task.path, schemas: [], env: {}, tools: [], agents: [], mcps: [], tasks: [task], triggers: [], memories: [], execution: {} };
  return workflowDef(project, config, NO_NESTING);
}

function basicTask(id: string, at: { file: BasicTaskConfig['file']; path: BasicTaskConfig['path'] }, fields: Partial<BasicTaskConfig>): BasicTaskConfig {
  return { id, type: 'basic', with: {}, env: {}, final: false, execution: {}, file: at.file, path: at.path, ...fields };
}

export interface AgentRequest {
  action?: string;
  prompt?: string;
  with?: Record<string, unknown>;
  timeoutS: number;
}

/** An agent's action (or a prompt to it): 404 for an unknown agent, 400 for an unknown action or neither/both of action and prompt. */
export function agentDefinition(engine: EngineClient, project: ProjectConfig, agentId: string, request: AgentRequest): WorkflowDef {
  const found = engine.project.resources.agents.get(agentId);
  if (!found) {
    throw new CompozyError('AGENT_NOT_FOUND', `Agent "${agentId}" does not exist in project ${project.name}.`, { hint: `Known agents: ${[...engine.project.resources.agents.keys()].join(', ') || 'none'}.` });
  }
  const { action, prompt } = request;
  if (action === undefined && prompt === undefined) throw new CompozyError('INPUT_INVALID', 'Either action or prompt is required.', { details: { errors: [{ path: 'action', message: 'The body needs "action" or "prompt".' }] } });
  if (action !== undefined && prompt !== undefined) {
    throw new CompozyError('INPUT_INVALID', 'Send action or prompt, not both: an action has its own prompt.', { details: { errors: [{ path: 'prompt', message: '"prompt" cannot be sent with "action".' }] } });
  }
  if (action !== undefined && !found.agent.actions.some((a) => a.id === action)) {
    throw new CompozyError('INPUT_INVALID', `Agent ${agentId} has no action "${action}".`, { hint: `Its actions: ${found.agent.actions.map((a) => a.id).join(', ') || 'none'}.`, details: { errors: [{ path: 'action', message: `unknown action "${action}"` }] } });
  }
  const id = `agent:${agentId}`;
  return oneTaskWorkflow(project, id, basicTask(id, found.agent, { agent: agentId, with: request.with ?? {}, timeout: `${request.timeoutS}s`, ...(action !== undefined ? { action } : {}), ...(prompt !== undefined ? { prompt } : {}) }));
}

/** One call of a tool, bounded by `timeoutS` when given, else by the tool's own timeout: 404 for an unknown tool. */
export function toolDefinition(engine: EngineClient, project: ProjectConfig, toolId: string, request: { with?: Record<string, unknown>; timeoutS?: number }): WorkflowDef {
  const found = engine.project.resources.tools.get(toolId);
  if (!found) {
    throw new CompozyError('TOOL_NOT_FOUND', `Tool "${toolId}" does not exist in project ${project.name}.`, { hint: `Known tools: ${[...engine.project.resources.tools.keys()].join(', ') || 'none'}.` });
  }
  const id = `tool:${toolId}`;
  return oneTaskWorkflow(project, id, basicTask(id, found.tool, { tool: toolId, with: request.with ?? {}, ...(request.timeoutS !== undefined ? { timeout: `${request.timeoutS}s` } : {}) }));
}

/** A task that can be executed directly: a task resource (workflowId null) or one of a workflow's top-level tasks. */
export interface ExecutableTask {
  workflowId: string | null;
  task: TaskDef;
  env: Record<string, string>;
  maxNestingDepth: number;
}

/**
 * The tasks a direct task execution may run (reference §8.4: "a task defined in some workflow or as
 * a standalone task resource"): the project's task resources (`resource: task`), compiled once as a
 * workflow's task would be, then every workflow's top-level tasks.
 */
export class ExecutableTasks {
  private readonly resources: ExecutableTask[];

  constructor(
    private readonly engine: EngineClient,
    project: ProjectConfig,
  ) {
    const { maxNestingDepth } = engine.project;
    this.resources = project.tasks.map((task) => {
      const config: WorkflowConfig = { id: `task:${task.id}`, file: task.file, path: task.path, schemas: [], env: {}, tools: [], agents: [], mcps: [], tasks: [task], triggers: [], memories: [], execution: {} };
      return { workflowId: null, task: workflowDef(project, config, maxNestingDepth).tasks[0] as TaskDef, env: {}, maxNestingDepth };
    });
  }

  all(): ExecutableTask[] {
    return [...this.resources, ...this.engine.workflows().flatMap((workflow) => workflow.tasks.map((task) => ({ workflowId: workflow.id, task, env: workflow.env, maxNestingDepth: workflow.maxNestingDepth })))];
  }

  /**
   * The task resource with this id, else the one top-level task of that id (of `workflowId` only,
   * when given, and then never a resource): 404 TASK_NOT_FOUND when none, 409 TASK_AMBIGUOUS when
   * several workflows define it.
   */
  find(taskId: string, workflowId?: string): ExecutableTask {
    if (workflowId !== undefined) this.engine.workflow(workflowId);
    const resource = workflowId === undefined ? this.resources.find((r) => r.task.id === taskId) : undefined;
    if (resource) return resource;
    const found = this.all().filter((t) => t.workflowId !== null && t.task.id === taskId && (workflowId === undefined || t.workflowId === workflowId));
    if (found.length === 0) {
      throw new CompozyError('TASK_NOT_FOUND', `No task resource or workflow${workflowId === undefined ? '' : ` ${workflowId}`} defines a task "${taskId}".`, { hint: 'GET /api/v0/tasks lists the tasks that can be executed.' });
    }
    if (found.length > 1) {
      const ids = found.map((t) => String(t.workflowId));
      throw new CompozyError('TASK_AMBIGUOUS', `Task "${taskId}" is defined by workflows ${ids.join(', ')}.`, { hint: 'Say which with workflow_id.', details: { workflows: ids } });
    }
    return found[0] as ExecutableTask;
  }

  /** The task run on its own: the request's `with` over its own, its transitions dropped (there is no next task). */
  definition(taskId: string, request: { with?: Record<string, unknown>; workflowId?: string }): WorkflowDef {
    const found = this.find(taskId, request.workflowId);
    const { onSuccess: _next, onError: _error, ...task } = found.task;
    void _next;
    void _error;
    return { id: `task:${taskId}`, env: found.env, maxNestingDepth: found.maxNestingDepth, tasks: [{ ...task, with: { ...task.with, ...request.with } } as TaskDef] };
  }
}
