import type { BasicTaskConfig } from '../../config/types.js';
import type { TaskBase } from '../definition.js';
import { defined } from '../../config/read.js';
import type { HandlerContext, TaskKind, TaskRunResult } from './kind.js';

/** A task that calls a tool, an agent (action or prompt), or a model with a direct prompt; an inline agent or tool is compiled to its id. */
export interface BasicTaskDef extends TaskBase<'basic'>, Pick<BasicTaskConfig, 'action' | 'prompt' | 'model'> {
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
      model: config.model,
    }),
  templated: (def) => ({ templates: def.prompt === undefined ? [] : [def.prompt], cel: [] }),
};

/** Which component a task state names: an agent (or a direct prompt), a tool, or the task itself. */
export function componentOf(task: { type: string } & Partial<Pick<BasicTaskDef, 'agent' | 'prompt' | 'tool'>>): 'agent' | 'tool' | 'task' {
  return task.agent || (task.prompt && !task.tool) ? 'agent' : task.tool ? 'tool' : 'task';
}

export async function runBasic(task: BasicTaskDef, input: Record<string, unknown>, ctx: Record<string, unknown>, h: HandlerContext): Promise<TaskRunResult> {
  if (task.tool) return { raw: await h.deps.tools.call(task.tool, input, task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }) };
  if (task.agent || task.prompt) {
    const prompt = task.prompt === undefined ? undefined : String(h.render(task.prompt, ctx));
    const result = await h.deps.agents.run({
      input,
      context: ctx,
      ...(task.agent ? { agentId: task.agent } : {}),
      ...(task.action ? { actionId: task.action } : {}),
      ...(prompt !== undefined ? { prompt } : {}),
      ...(task.model ? { model: task.model } : {}),
    });
    return { raw: result.output, ...(result.usage ? { usage: result.usage } : {}) };
  }
  return { raw: input };
}
