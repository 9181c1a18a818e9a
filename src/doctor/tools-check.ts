import { existsSync } from 'node:fs';
import { projectConfig, type Check } from './checks.js';

/** The project's tool runtime: runtime.permissions, and the entrypoint loaded the way the tool pool loads it. */
export const toolsCheck: Check = {
  name: 'tools',
  description: 'the tool entrypoint loads (no syntax error, nothing thrown at import) and exports the declared tools; runtime.permissions are known',
  async run(context) {
    const project = await projectConfig(context);
    if (!project) return undefined;
    // Loaded here: the check pulls in the tool runtime.
    const [{ toolDiagnostics }, { projectEntrypoint }] = await Promise.all([import('../tools/check.js'), import('../tools/runtime.js')]);
    const entrypoint = projectEntrypoint(project);
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
