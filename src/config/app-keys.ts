import { isObj, suggestion } from './read.js';
import { settingKeys } from './settings.js';
import type { ConfigDiagnostic, YamlFile, YamlPath } from './yaml-file.js';

/** Sections of the reference's app config (§1.3) that compozy has no counterpart for, with what to do. */
const UNSUPPORTED_SECTIONS: Readonly<Record<string, string>> = {
  memory: 'Memory settings live in each memory resource (memory/*.yaml: persistence.ttl, …); remove the top-level memory: section.',
  worker: 'The worker has no settings of its own here; remove worker:.',
  webhooks: 'The webhooks: defaults are fixed (1 MiB body, 10m dedupe TTL, 5m Stripe skew, set per webhook with verify.skew); remove webhooks:.',
  cli: 'The CLI reads COMPOZY_API_KEY and its flags (--json), not a cli: section; remove it.',
  ratelimit: 'Give request budgets under server.rate_limit: {requests, period, burst, per_route}.',
  mcp_proxy: "The Go engine's MCP proxy is a separate service between agents and servers; compozy connects each server of mcps: directly (stdio servers are child processes of serve), so there is no proxy to configure: remove mcp_proxy:.",
};

function join(path: readonly string[]): string {
  return path.join('.');
}

/**
 * Every top-level key of compozy.yaml, and every key under the app settings' sections (server,
 * temporal, redis, database, …), is either read or refused here at its file:line:col: a project key
 * is the loader's (`projectKeys`), a setting is one that settings.ts reads, and anything else — a
 * misspelling, or a reference setting such as server.cors that nothing here honours — is a diagnostic.
 */
export function appKeyDiagnostics(file: YamlFile, projectKeys: Iterable<string>): ConfigDiagnostic[] {
  const data = file.data;
  if (!isObj(data)) return [];
  const read = settingKeys();
  const project = new Set(projectKeys);
  const sections = new Set([...read].flatMap((key) => key.split('.').slice(0, -1).map((_, i, parts) => join(parts.slice(0, i + 1)))));
  const out: ConfigDiagnostic[] = [];
  const visit = (obj: Record<string, unknown>, path: string[]) => {
    for (const [key, value] of Object.entries(obj)) {
      const at = [...path, key];
      const dotted = join(at);
      if (path.length === 0 && project.has(key)) continue;
      if (read.has(dotted)) continue;
      if (sections.has(dotted) && isObj(value)) {
        visit(value, at);
        continue;
      }
      if (path.length === 0) {
        const unsupported = UNSUPPORTED_SECTIONS[key];
        if (unsupported) out.push(file.diagnostic(at as YamlPath, `The ${key}: settings of the reference are not supported.`, unsupported));
        else out.push(file.diagnostic(at as YamlPath, `Unknown top-level key "${key}".`, suggestion(key, [...project, ...[...sections].filter((s) => !s.includes('.')), ...[...read].filter((k) => !k.includes('.'))], 'key')));
        continue;
      }
      const here = [...read, ...sections].filter((k) => k.startsWith(`${join(path)}.`) && k.split('.').length === at.length).map((k) => k.split('.').at(-1) as string);
      out.push(file.diagnostic(at as YamlPath, `"${dotted}" is not a setting compozy reads.`, `Remove it. The settings under ${join(path)}: are ${[...new Set(here)].sort().join(', ')}.`));
    }
  };
  visit(data, []);
  return out;
}
