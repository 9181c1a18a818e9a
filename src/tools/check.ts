import { existsSync } from 'node:fs';
import type { ProjectConfig } from '../config/types.js';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { resourceIndex } from '../engine/definition.js';
import { CompozyError, errorMessage } from '../errors.js';
import { projectEntrypoint, runtimeOf, ToolRuntime } from './runtime.js';
import { isRuntimePermission, runtimePermissionDiagnostics } from './bun.js';
import { checkToolEnv } from './sandbox.js';

/** How long the entrypoint may take to load before the check gives up on it. */
const LOAD_TIMEOUT_MS = 30_000;

/**
 * What start-up would find wrong with the project's tools, found before anything runs: an unknown
 * runtime permission, a loader variable (NODE_OPTIONS, LD_*…) in a tool's env:, a sandbox the permissions would make that does not hold (a link out of a grant),
 * and an entrypoint that is missing, does not parse (with its line), throws at
 * import, or does not export a tool the project declares. The entrypoint is loaded the way the tool
 * pool loads it (same worker, same permission flags), so its import-time code runs.
 */
export async function toolDiagnostics(project: ProjectConfig): Promise<ConfigDiagnostic[]> {
  const diagnostics = runtimePermissionDiagnostics(project);
  // The entrypoint is still loaded, under the permissions that are known.
  const permissions = project.runtime.permissions.filter((permission) => isRuntimePermission(project, permission));

  const declared = [...resourceIndex(project).tools.values()].map((found) => found.tool);
  for (const tool of declared) {
    try {
      checkToolEnv(tool.env, tool.id);
    } catch (error) {
      if (!(error instanceof CompozyError)) throw error;
      diagnostics.push(tool.file.diagnostic([...tool.path, 'env'], `${error.message} Its calls fail with ${error.code}.`, error.hint));
    }
  }
  const entrypoint = projectEntrypoint(project);
  const at = ['runtime', 'entrypoint'];
  if (!existsSync(entrypoint)) {
    if (declared.length > 0) {
      diagnostics.push(
        project.file.diagnostic(at, `The tool entrypoint ${entrypoint} does not exist, and the project declares ${declared.length === 1 ? 'a tool' : `${declared.length} tools`} (${declared.map((t) => t.id).join(', ')}).`, 'Create it (it default-exports an object of tool functions by id), or set runtime.entrypoint.'),
      );
    }
    return diagnostics;
  }

  const runtime = new ToolRuntime({ projectDir: project.dir, entrypoint, permissions, poolSize: 1, watchIntervalMs: 0, ...runtimeOf(project) });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CompozyError('TOOL_ENTRYPOINT_FAILED', `The tool entrypoint ${entrypoint} did not finish loading within ${LOAD_TIMEOUT_MS / 1000} s.`, { hint: 'Look for top-level code that waits (a network call, a top-level await) and move it into the tools.' })), LOAD_TIMEOUT_MS);
    });
    const exported = new Set(await Promise.race([runtime.tools(), timeout]));
    for (const tool of declared) {
      if (exported.has(tool.id)) continue;
      diagnostics.push(tool.file.diagnostic([...tool.path, 'id'], `Tool "${tool.id}" is declared, but ${entrypoint} exports no "${tool.id}" (it has: ${[...exported].sort().join(', ') || 'none'}).`, 'Export the function under the tool id (default export {id: fn} or a named export), or fix the id.'));
    }
  } catch (error) {
    // CONFIG_INVALID from the pool is the sandbox refusing what runtime.permissions grant.
    // BUN_NOT_FOUND: runtime.type is bun and no Bun binary was found.
    const place = error instanceof CompozyError && error.code === 'CONFIG_INVALID' ? ['runtime', 'permissions'] : error instanceof CompozyError && error.code === 'BUN_NOT_FOUND' ? ['runtime', 'type'] : at;
    diagnostics.push(project.file.diagnostic(place, errorMessage(error), error instanceof CompozyError ? error.hint : undefined));
  } finally {
    clearTimeout(timer);
    await runtime.close(500);
  }
  return diagnostics;
}
