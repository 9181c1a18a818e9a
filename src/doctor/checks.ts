import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '../config/project.js';
import type { LoadResult } from '../config/load.js';
import type { ProjectConfig } from '../config/types.js';
import { resolveEnvReferences } from '../config/secrets.js';
import type { AppSettings } from '../config/settings.js';
import { errorMessage, CompozyError } from '../errors.js';
import { isPortFree } from '../platform/ports.js';
import { pidListeningOn } from '../platform/pids.js';
import { resolveTemporalBinary, cachedBinaryPath } from '../temporal/binary.js';
import { TEMPORAL_CLI_GO_PACKAGE, TEMPORAL_CLI_VERSION } from '../temporal/cli-version.js';
import { planInstall } from '../temporal/install.js';
import { probeTemporal } from '../temporal/readiness.js';
import { pingPostgres, pingRedis } from './probes.js';
import { toolsCheck } from './tools-check.js';
import { memoryCheck } from './memory-check.js';
import { mcpCheck } from './mcp-check.js';
import { plural } from '../platform/plural.js';
import { redactUrl } from '../platform/urls.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  found?: string;
  required?: string;
  fix?: string;
}

export interface DoctorContext {
  project?: Project;
  settings?: AppSettings;
  stateDir?: string;
  env: NodeJS.ProcessEnv;
}

export interface Check {
  name: string;
  description: string;
  /** Returns no result when the check does not apply (e.g. no Redis configured). */
  run(context: DoctorContext): Promise<CheckResult | undefined>;
}

const loaded = new WeakMap<DoctorContext, Promise<LoadResult | undefined>>();

/** The project's configuration and the loader's diagnostics, loaded once per doctor run for the checks that read them. */
export function projectLoad(context: DoctorContext): Promise<LoadResult | undefined> {
  const dir = context.project?.dir;
  if (dir === undefined) return Promise.resolve(undefined);
  let result = loaded.get(context);
  if (!result) {
    // Loaded on first use: the config loader pulls in ajv, CEL and the template engine.
    result = import('../config/load.js').then(({ loadProjectConfig }) => loadProjectConfig(dir));
    loaded.set(context, result);
  }
  return result;
}

/** The project's typed configuration (see projectLoad). */
export async function projectConfig(context: DoctorContext): Promise<ProjectConfig | undefined> {
  return (await projectLoad(context))?.project;
}

const MIN_NODE = [22, 13] as const;

function nodeAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [maj = 0, min = 0] = version.replace(/^v/, '').split('.').map(Number);
  return maj > major || (maj === major && min >= minor);
}

const nodeCheck: Check = {
  name: 'node',
  description: 'Node.js version and node:sqlite',
  async run() {
    const found = process.versions.node;
    const required = `>= ${MIN_NODE.join('.')}`;
    if (!nodeAtLeast(found, MIN_NODE)) {
      return { name: 'node', status: 'fail', message: `Node ${found} is too old for node:sqlite`, found, required, fix: 'Run the `compozy` command, which uses the Node 24 the package brings (reinstall without --omit=optional if it is missing), or install Node >= 22.13.' };
    }
    try {
      const { DatabaseSync } = await import('node:sqlite');
      new DatabaseSync(':memory:').close();
    } catch (error) {
      return { name: 'node', status: 'fail', message: `node:sqlite is not usable: ${errorMessage(error)}`, found, required, fix: 'Install Node 24 (node:sqlite is built in from 22.13).' };
    }
    return { name: 'node', status: 'pass', message: `Node ${found}, node:sqlite available`, found, required };
  },
};

const temporalBinaryCheck: Check = {
  name: 'temporal',
  description: 'Temporal CLI binary (embedded dev server)',
  async run(context) {
    const required = TEMPORAL_CLI_VERSION;
    const bin = context.settings?.temporalBin;
    try {
      const resolved = await resolveTemporalBinary({
        env: context.env,
        flag: bin?.source === 'flag' ? bin.value : undefined,
        config: bin?.source === 'file' ? bin.value : undefined,
      });
      const message = `${resolved.path} (from ${resolved.source})`;
      if (resolved.version !== TEMPORAL_CLI_VERSION) {
        return { name: 'temporal', status: 'warn', message: `${message} is not the version compozy is tested with`, found: resolved.version, required, fix: 'compozy temporal install, then unset COMPOZY_TEMPORAL_BIN or remove the other binary from PATH' };
      }
      return { name: 'temporal', status: 'pass', message, found: resolved.version, required };
    } catch (error) {
      const explicit = error instanceof CompozyError && /points to|did not run|does not look/.test(error.message);
      if (explicit) return { name: 'temporal', status: 'fail', message: errorMessage(error), required, fix: error instanceof CompozyError ? error.hint ?? '' : '' };
      const plan = await planInstall(context.env);
      if (plan.method === 'none') {
        return { name: 'temporal', status: 'fail', message: `not installed, and cannot be installed here: ${plan.reason}`, found: 'none', required, fix: `install Go ≥ 1.25 then: go install ${TEMPORAL_CLI_GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}, or set COMPOZY_TEMPORAL_BIN` };
      }
      const how = plan.method === 'download' ? `download from ${plan.url}` : `go install with ${plan.go} (several minutes)`;
      return { name: 'temporal', status: 'warn', message: `not installed yet; compozy dev will install it to ${cachedBinaryPath(context.env)} by ${how}`, found: 'none', required, fix: 'compozy temporal install' };
    }
  },
};

const stateDirCheck: Check = {
  name: 'state',
  description: '.compozy/ state folder is writable',
  async run(context) {
    if (!context.stateDir) return { name: 'state', status: 'warn', message: 'no project here (no compozy.yaml), so no .compozy/ to check', fix: 'run doctor inside a project, or pass --project <dir>' };
    const probe = join(context.stateDir, `.doctor-${process.pid}`);
    try {
      mkdirSync(context.stateDir, { recursive: true });
      writeFileSync(probe, 'ok');
      rmSync(probe);
      return { name: 'state', status: 'pass', message: `${context.stateDir} is writable` };
    } catch (error) {
      return { name: 'state', status: 'fail', message: `${context.stateDir} is not writable: ${errorMessage(error)}`, fix: `chmod u+w ${context.stateDir} (or fix its owner)` };
    }
  },
};

const portsCheck: Check = {
  name: 'ports',
  description: 'API port is free',
  async run(context) {
    const setting = context.settings?.serverPort;
    const port = setting?.value ?? 5001;
    const host = context.settings?.serverHost.value ?? '127.0.0.1';
    if (await isPortFree(port, host)) return { name: 'ports', status: 'pass', message: `API port ${port} is free` };
    const pid = pidListeningOn(port);
    const holder = pid === undefined ? '' : ` by pid ${pid}`;
    if (!setting || setting.source === 'default') {
      return { name: 'ports', status: 'warn', message: `default API port ${port} is in use${holder}; compozy dev will take the next free port`, fix: `choose one with --port, or stop the process on ${port}` };
    }
    return { name: 'ports', status: 'fail', message: `API port ${port} (from ${setting.origin}) is in use${holder}`, fix: `stop the process on ${port}, or change ${setting.origin}` };
  },
};

const redisCheck: Check = {
  name: 'redis',
  description: 'Redis reachability (when REDIS_URL or redis.url is set)',
  async run(context) {
    const url = context.settings?.redisUrl ?? (context.env.REDIS_URL ? { value: context.env.REDIS_URL, origin: 'REDIS_URL' } : undefined);
    if (!url?.value) return undefined;
    try {
      return { name: 'redis', status: 'pass', message: await pingRedis(url.value) };
    } catch (error) {
      return { name: 'redis', status: 'fail', message: `Redis at ${redactUrl(url.value)} (from ${url.origin}) is not reachable: ${errorMessage(error)}`, fix: 'redis-server --daemonize yes --port 6379, or fix the URL' };
    }
  },
};

const postgresCheck: Check = {
  name: 'postgres',
  description: 'PostgreSQL reachability (when DATABASE_URL or database.url is set)',
  async run(context) {
    const url = context.settings?.databaseUrl ?? (context.env.DATABASE_URL ? { value: context.env.DATABASE_URL, origin: 'DATABASE_URL' } : undefined);
    if (!url?.value) return undefined;
    try {
      return { name: 'postgres', status: 'pass', message: await pingPostgres(url.value) };
    } catch (error) {
      return { name: 'postgres', status: 'fail', message: `PostgreSQL at ${redactUrl(url.value)} (from ${url.origin}) is not reachable: ${errorMessage(error)}`, fix: 'start PostgreSQL (pg_ctlcluster <version> main start), or fix the URL' };
    }
  },
};

const temporalServerCheck: Check = {
  name: 'temporal-server',
  description: 'external Temporal reachability (when TEMPORAL_ADDRESS or temporal.host_port is set)',
  async run(context) {
    const setting = context.settings?.temporalAddress;
    const address = setting?.value ?? context.env.TEMPORAL_ADDRESS;
    if (!address) return undefined;
    const namespace = context.settings?.temporalNamespace.value ?? 'default';
    const probe = await probeTemporal(address, namespace, 3000);
    if (probe.ok) return { name: 'temporal-server', status: 'pass', message: `Temporal at ${address}, ${probe.detail}` };
    return { name: 'temporal-server', status: 'fail', message: `Temporal at ${address} is not reachable: ${probe.detail}`, fix: 'Start it with `compozy dev`, or set TEMPORAL_ADDRESS to a running cluster.' };
  },
};

const llmKeysCheck: Check = {
  name: 'llm',
  description: "LLM API keys named in the project's models",
  async run(context) {
    const models = context.project?.document.models;
    if (!Array.isArray(models) || models.length === 0) return undefined;
    const missing: string[] = [];
    let missingCritical = false;
    for (const model of models as Array<Record<string, unknown>>) {
      if (typeof model.api_key !== 'string') continue;
      try {
        resolveEnvReferences(model.api_key, context.env, `${String(model.provider)}:${String(model.model)} api_key`);
        continue;
      } catch (error) {
        if (!(error instanceof CompozyError) || !Array.isArray(error.details?.missing)) throw error;
        missing.push(`${String(model.provider)}:${String(model.model)} needs ${(error.details.missing as string[]).join(', ')}`);
      }
      if (model.default === true || models.length === 1) missingCritical = true;
    }
    if (missing.length === 0) return { name: 'llm', status: 'pass', message: `keys set for ${plural(models.length, 'model')}` };
    return { name: 'llm', status: missingCritical ? 'fail' : 'warn', message: missing.join('; '), fix: 'export the variable, or add it to the project .env' };
  },
};

const agentModelsCheck: Check = {
  name: 'agents',
  description: "the models the project's agents resolve to (provider known, API key set, replay fixtures present)",
  async run(context) {
    const project = await projectConfig(context);
    const [{ llmHealth }, { checkModelUses }] = await Promise.all([import('../llm/health.js'), import('../llm/models.js')]);
    const health = project ? llmHealth(project, context.env) : undefined;
    if (!project || !health) return undefined;
    if (health.state === 'up') return { name: 'agents', status: 'pass', message: `agents use ${health.detail}` };
    const hints = [...new Set(checkModelUses(project, context.env).flatMap((check) => (check.problem?.hint ? [check.problem.hint] : [])))];
    return { name: 'agents', status: 'fail', message: health.detail ?? 'a model cannot be resolved', fix: hints.join(' ') || 'Fix the agent model: refs.' };
  },
};

export const CHECKS: readonly Check[] = [nodeCheck, temporalBinaryCheck, stateDirCheck, portsCheck, redisCheck, postgresCheck, temporalServerCheck, llmKeysCheck, agentModelsCheck, toolsCheck, memoryCheck, mcpCheck];
