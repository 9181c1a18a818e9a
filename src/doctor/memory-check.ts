import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { errorMessage, CompozyError } from '../errors.js';
import { plural } from '../platform/plural.js';
import { projectLoad, type Check, type CheckResult } from './checks.js';

/** Whether a YAML file is a memory resource (`resource: memory`), however the project reached it. */
function isMemoryFile(path: string, cache: Map<string, boolean>): boolean {
  let memory = cache.get(path);
  if (memory === undefined) {
    try {
      memory = /^resource:\s*["']?memory["']?\s*(#.*)?$/m.test(readFileSync(path, 'utf8'));
    } catch {
      memory = false;
    }
    cache.set(path, memory);
  }
  return memory;
}

/**
 * The project's memory resources: every §5.1 problem in their files (with the fix each diagnostic
 * hints), then the backend the persistent ones live on, opened the way serve opens it (the embedded
 * SQLite KV, or Redis in distributed mode), so an unreachable backend fails here and not at the first
 * memory task.
 */
export const memoryCheck: Check = {
  name: 'memory',
  description: 'memory resources are valid and the KV their conversations persist to opens',
  async run(context): Promise<CheckResult | undefined> {
    const loaded = await projectLoad(context);
    if (!loaded || !context.project) return undefined;
    const [{ projectMemories }, { sortDiagnostics, validateProject }] = await Promise.all([import('../config/memory-resource.js'), import('../config/validate.js')]);
    const dir = context.project.dir;
    const files = new Map<string, boolean>();
    const diagnostics: ConfigDiagnostic[] = sortDiagnostics([...loaded.diagnostics, ...(loaded.project ? validateProject(loaded.project) : [])].filter((d) => isMemoryFile(d.file, files)));
    const resources = loaded.project ? projectMemories(loaded.project) : [];
    if (resources.length === 0 && diagnostics.length === 0) return undefined;
    const ids = resources.map((r) => r.id).sort();
    const named = `${plural(resources.length, 'memory resource')}${ids.length > 0 ? ` (${ids.join(', ')})` : ''}`;
    if (diagnostics.length > 0) {
      return {
        name: 'memory',
        status: 'fail',
        message: `${named}; ${plural(diagnostics.length, 'problem')}: ${diagnostics.map((d) => `${relative(dir, d.file) || d.file}:${d.line}:${d.col}: ${d.key ? `${d.key}: ` : ''}${d.message}`).join('; ')}`,
        fix: [...new Set(diagnostics.flatMap((d) => (d.hint ? [d.hint] : [])))].join(' ') || `compozy config validate ${dir} shows each problem at its place`,
      };
    }
    const persistent = resources.filter((r) => r.persistence.type !== 'in_memory');
    if (persistent.length === 0) return { name: 'memory', status: 'pass', message: `${named}, all in_memory: in the server process only, gone when it stops` };
    if (!context.settings || !context.stateDir) return { name: 'memory', status: 'pass', message: named };
    const { openKv } = await import('../server/open-kv.js');
    try {
      const kv = await openKv(context.settings, context.stateDir);
      try {
        const info = await kv.info();
        const backend = info.driver === 'sqlite' ? 'the embedded SQLite KV' : 'Redis';
        return { name: 'memory', status: 'pass', message: `${named}; ${plural(persistent.length, 'persists', 'persist')} to ${backend} at ${info.location}` };
      } finally {
        await kv.close();
      }
    } catch (error) {
      return {
        name: 'memory',
        status: 'fail',
        message: `${named}; ${plural(persistent.length, 'persists', 'persist')} to a KV that does not open: ${errorMessage(error)}`,
        fix: (error instanceof CompozyError ? error.hint : undefined) ?? 'Start the KV backend (Redis in distributed mode), or fix its URL.',
      };
    }
  },
};
