import { projectMemories } from './memory-resource.js';
import { childTasks, type AgentConfig, type Located, type ModelConfig, type ProjectConfig, type TaskConfig } from './types.js';
import type { YamlPath } from './yaml-file.js';

/** One place that chooses a model: an agent, or a task with its own model or a bare prompt. */
export interface ModelUse {
  /** e.g. `agent weather_agent`, `task greet`. */
  user: string;
  /** The object that chooses; `key` is its `model` field, or absent when it falls back to the default model. */
  at: Located;
  key: YamlPath;
  ref: string | ModelConfig | undefined;
}

function taskUses(tasks: readonly TaskConfig[], out: ModelUse[]): void {
  for (const task of tasks) {
    if (task.type === 'basic') {
      const agent = typeof task.agent === 'object' ? task.agent : undefined;
      if (task.model !== undefined) out.push({ user: `task ${task.id}`, at: task, key: [typeof task.model === 'string' ? 'model' : 'model_config'], ref: task.model });
      else if (agent) out.push(agentUse(agent));
      else if (task.agent === undefined && task.prompt !== undefined) out.push({ user: `task ${task.id}`, at: task, key: [], ref: undefined });
    }
    taskUses(childTasks(task), out);
  }
}

function agentUse(agent: AgentConfig): ModelUse {
  return { user: `agent ${agent.id}`, at: agent, key: agent.model === undefined ? [] : ['model'], ref: agent.model };
}

/** Every agent and model-calling task in the project, and every memory summarizing with a model, with the model ref it gives. */
export function modelUses(project: ProjectConfig): ModelUse[] {
  const out: ModelUse[] = [...project.agents, ...project.workflows.flatMap((w) => w.agents)].map(agentUse);
  for (const workflow of project.workflows) taskUses(workflow.tasks, out);
  for (const memory of projectMemories(project)) {
    const ref = memory.flushing.summaryModel;
    if (ref !== undefined) out.push({ user: `flushing.summary_model of memory ${memory.id}`, at: memory, key: ['flushing', 'summary_model'], ref });
  }
  return out;
}
