import type { BasicTaskConfig, ModelSpec } from '../../config/types.js';
import type { TaskBase } from '../definition.js';
import { defined } from '../../config/read.js';
import type { HandlerContext, TaskKind, TaskRunResult } from './kind.js';
import { CompozyError } from '../../errors.js';
import type { AgentStep } from '../executors.js';

/** A task that calls a tool, an agent (action or prompt), or a model with a direct prompt; an inline agent or tool is compiled to its id. */
export interface BasicTaskDef extends TaskBase<'basic'>, Pick<BasicTaskConfig, 'action' | 'prompt'> {
  /** provider:model, a declared model id, or the model of model_config: (without its file). */
  model?: string | ModelSpec;
  agent?: string;
  tool?: string;
}

export const basicTask: TaskKind<'basic'> = {
  type: 'basic',
  compile: (config) =>
    defined({
      agent: typeof config.agent === 'object' ? config.agent.id : config.agent,
      action: config.action,
      tool: typeof config.tool === 'object' ? config.tool.id : config.tool,
      prompt: config.prompt,
      model: typeof config.model === 'object' ? modelSpec(config.model) : config.model,
    }),
  templated: (def) => ({ templates: [def.prompt, def.agent, def.action, def.tool].filter((value) => value !== undefined), cel: [] }),
};

function modelSpec(config: ModelSpec): ModelSpec {
  return { provider: config.provider, model: config.model, params: config.params, ...defined({ apiKey: config.apiKey, apiUrl: config.apiUrl }) };
}

/** Which component a task state names: an agent (or a direct prompt), a tool, or the task itself. */
export function componentOf(task: { type: string } & Partial<Pick<BasicTaskDef, 'agent' | 'prompt' | 'tool'>>): 'agent' | 'tool' | 'task' {
  return task.agent || (task.prompt && !task.tool) ? 'agent' : task.tool ? 'tool' : 'task';
}

type IdField = 'agent' | 'action' | 'tool';

/**
 * A templated agent, action or tool id (`action: "{{ .workflow.input.kind }}"`), rendered with the
 * task's context; the config validator checked its syntax at load time. An empty result is refused.
 */
function renderId(task: BasicTaskDef, field: IdField, ctx: Record<string, unknown>, h: HandlerContext): string | undefined {
  const value = task[field];
  if (value === undefined || !value.includes('{{')) return value;
  const rendered = String(h.render(value, ctx)).trim();
  if (rendered === '') {
    throw new CompozyError(field === 'tool' ? 'TOOL_NOT_FOUND' : 'AGENT_NOT_FOUND', `Task "${task.id}": its ${field} "${value}" renders to an empty id.`, { details: { task_id: task.id, field, template: value, rendered } });
  }
  return rendered;
}

/** The agent, action and tool a basic task names, rendered when they are templates: what its state records and what it calls. */
export type ComponentIds = Partial<Record<IdField, string>>;

export function componentIds(task: BasicTaskDef, ctx: Record<string, unknown>, h: HandlerContext): ComponentIds {
  return defined({ agent: renderId(task, 'agent', ctx, h), action: renderId(task, 'action', ctx, h), tool: renderId(task, 'tool', ctx, h) });
}

/** A rendered id that names nothing declared: the lookup's own error, told as the task's, with the template and what it rendered to. */
function undeclared(error: unknown, task: BasicTaskDef, ids: ComponentIds): unknown {
  if (!(error instanceof CompozyError) || (error.code !== 'AGENT_NOT_FOUND' && error.code !== 'TOOL_NOT_FOUND')) return error;
  const field = (error.code === 'TOOL_NOT_FOUND' ? ['tool'] : ['action', 'agent']).find((f) => task[f as IdField] !== ids[f as IdField]) as IdField | undefined;
  if (field === undefined) return error;
  return new CompozyError(error.code, `Task "${task.id}": its ${field} "${task[field]}" renders to "${ids[field]}", which is not declared: ${error.message}`, {
    details: { task_id: task.id, field, template: task[field], rendered: ids[field] },
    hint: `Make the template render one of the ${field === 'tool' ? 'tools' : field === 'agent' ? 'agents' : "agent's actions"} the project declares.`,
    cause: error,
  });
}

/** Runs a basic task with its ids as componentIds rendered them. */
export async function runBasic(task: BasicTaskDef, ids: ComponentIds, input: Record<string, unknown>, ctx: Record<string, unknown>, h: HandlerContext, onStep?: (step: AgentStep) => Promise<void>): Promise<TaskRunResult> {
  try {
    if (ids.tool) return { raw: await h.deps.tools.call(ids.tool, input, task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }) };
    if (ids.agent || task.prompt) {
      const prompt = task.prompt === undefined ? undefined : String(h.render(task.prompt, ctx));
      const result = await h.deps.agents.run({
        input,
        context: ctx,
        ...(ids.agent ? { agentId: ids.agent } : {}),
        ...(ids.action ? { actionId: ids.action } : {}),
        ...(prompt !== undefined ? { prompt } : {}),
        ...(task.model ? { model: task.model } : {}),
        ...(onStep ? { onStep } : {}),
      });
      return { raw: result.output, ...(result.usage ? { usage: result.usage } : {}) };
    }
  } catch (error) {
    throw undeclared(error, task, ids);
  }
  return { raw: input };
}
