import { existsSync } from 'node:fs';
import { projectConfig, type Check } from './checks.js';

/**
 * The project's tool runtime: runtime.permissions, the sandbox they make (links and grants are checked),
 * and the entrypoint loaded the way the tool pool loads it. Restrictions the permissions imply but Node
 * cannot enforce (network, environment) are a warning, said here as serve says them at start.
 */
export const toolsCheck: Check = {
  name: 'tools',
  description: 'the tool entrypoint loads (no syntax error, nothing thrown at import) and exports the declared tools; runtime.permissions are known, their sandbox holds, and what Node cannot enforce is said',
  async run(context) {
    const project = await projectConfig(context);
    if (!project) return undefined;
    // Loaded here: the check pulls in the tool runtime.
    const [{ toolDiagnostics }, { projectEntrypoint }, { isKnownPermission, permissionPlan }, bun] = await Promise.all([import('../tools/check.js'), import('../tools/runtime.js'), import('../tools/sandbox.js'), import('../tools/bun.js')]);
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
    const underBun = project.runtime.type === 'bun';
    const runs = existsSync(entrypoint) ? `${entrypoint} loads and exports every declared tool` : project.runtime.permissions.length > 0 ? 'runtime.permissions are known' : undefined;
    if (!runs) return undefined;
    // Under Bun the binary was found (else toolDiagnostics failed); say which one runs the tools.
    const loads = underBun ? `${runs} (under Bun ${bun.resolveBunBinary({ env: context.env, config: project.runtime.bunBin }).path})` : runs;
    const { unenforced } = underBun
      ? bun.bunPermissionPlan(project.runtime.permissions.filter(bun.isBunPermission))
      : permissionPlan(project.runtime.permissions.filter(isKnownPermission));
    if (unenforced.length === 0) return { name: 'tools', status: 'pass', message: loads };
    return {
      name: 'tools',
      status: 'warn',
      message: `${loads}; runtime.permissions cannot enforce: ${unenforced.join('; ')}`,
      fix: underBun
        ? 'Bun restricts nothing: run the tools under runtime.type: node for a file-system sandbox, or confine compozy itself (a container, a firewall)'
        : 'Node cannot deny tools network or environment access: list --allow-net and --allow-env in runtime.permissions to say tools have it, or deny it outside compozy (a container, a firewall)',
    };
  },
};
