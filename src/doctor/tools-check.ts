import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Check } from './checks.js';

/** The project's tool runtime: runtime.permissions, and the entrypoint loaded the way the tool pool loads it. */
export const toolsCheck: Check = {
  name: 'tools',
  description: 'the tool entrypoint loads (no syntax error, nothing thrown at import) and exports the declared tools; runtime.permissions are known',
  async run(context) {
    if (!context.project) return undefined;
    // Loaded here: the check pulls in the config loader and the tool runtime.
    const { loadProjectConfig } = await import('../config/load.js');
    const { toolDiagnostics } = await import('../tools/check.js');
    const { project } = loadProjectConfig(context.project.dir);
    if (!project) return undefined;
    const entrypoint = resolve(project.dir, project.runtime.entrypoint || './entrypoint.ts');
    const problems = await toolDiagnostics(project);
    if (problems.length > 0) {
      return {
        name: 'tools',
        status: 'fail',
        message: problems.map((p) => `${p.key ? `${p.key}: ` : ''}${p.message}`).join(' '),
        fix: problems.map((p) => p.hint).filter((hint): hint is string => Boolean(hint)).join(' ') || 'run compozy config validate for each problem and its place',
      };
    }
    if (existsSync(entrypoint)) return { name: 'tools', status: 'pass', message: `${entrypoint} loads and exports every declared tool` };
    return project.runtime.permissions.length > 0 ? { name: 'tools', status: 'pass', message: 'runtime.permissions are known' } : undefined;
  },
};
