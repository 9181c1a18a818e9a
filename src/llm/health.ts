import type { ProjectConfig } from '../config/types.js';
import type { ComponentHealth } from '../health.js';
import { checkModelUses } from './models.js';
import { ReplayFixtures } from './replay.js';

/**
 * The `llm` row of the health table: which models the project's agents resolve to right now (so a
 * replay model is shown as such), down when one cannot be resolved or called here (an unknown
 * provider, an unset key, a missing replay file). Absent when nothing in the project calls a model.
 */
export function llmHealth(project: ProjectConfig, env: NodeJS.ProcessEnv): ComponentHealth | undefined {
  const checks = checkModelUses(project, env);
  if (checks.length === 0) return undefined;
  const models = new Map<string, string>();
  const problems: string[] = [];
  let replayFile: string | undefined;
  for (const check of checks) {
    if (check.model) {
      models.set(`${check.model.provider}:${check.model.model}`, check.model.provider);
      if (check.model.provider === 'replay') replayFile = ReplayFixtures.path(project.dir, check.model.model);
    }
    if (check.problem) problems.push(`${check.user}: ${check.problem.message}`);
  }
  return {
    name: 'llm',
    backend: [...new Set(models.values())].join(', ') || 'none',
    state: problems.length > 0 ? 'down' : 'up',
    ...(replayFile ? { path: replayFile } : {}),
    detail: problems.length > 0 ? [...new Set(problems)].join('; ') : [...models.keys()].join(', '),
  };
}
