import { existsSync } from 'node:fs';
import type { AgentConfig, ProjectConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import { resolveModel } from './models.js';
import { ReplayFixtures } from './replay.js';

/**
 * The `llm` row of the health table: which models the project's agents resolve to right now (so a
 * replay model is shown as such), down when one cannot be resolved. Absent when the project has no agents.
 */
export function llmHealth(project: ProjectConfig, env: NodeJS.ProcessEnv): ComponentHealth | undefined {
  const agents: AgentConfig[] = [...project.agents, ...project.workflows.flatMap((w) => w.agents)];
  if (agents.length === 0) return undefined;
  const models = new Map<string, string>();
  const problems: string[] = [];
  let replayFile: string | undefined;
  for (const agent of agents) {
    try {
      const model = resolveModel(agent.model, project.models, env);
      models.set(`${model.provider}:${model.model}`, model.provider);
      if (model.provider === 'replay') {
        replayFile = ReplayFixtures.path(project.dir, model.model);
        if (!existsSync(replayFile)) problems.push(`agent ${agent.id}: ${replayFile} does not exist`);
      }
    } catch (error) {
      problems.push(`agent ${agent.id}: ${errorMessage(error)}`);
    }
  }
  return {
    name: 'llm',
    backend: [...new Set(models.values())].join(', ') || 'none',
    state: problems.length > 0 ? 'down' : 'up',
    ...(replayFile ? { path: replayFile } : {}),
    detail: problems.length > 0 ? problems.join('; ') : [...models.keys()].join(', '),
  };
}
