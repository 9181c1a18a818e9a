import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';
import { cachedBinaryPath, findOnPath, isExecutableFile } from './binary.js';
import { TEMPORAL_CLI_GO_PACKAGE, TEMPORAL_CLI_VERSION } from './cli-version.js';
import { isPidAlive } from '../platform/pids.js';

export interface InstallEvent {
  message: string;
  elapsedMs: number;
  /** `true` for the periodic "still working" lines of a long step. */
  tick?: boolean;
}
export type InstallProgress = (event: InstallEvent) => void;

export interface InstallOptions {
  env?: NodeJS.ProcessEnv;
  onProgress?: InstallProgress;
  /** How often a long step reports elapsed time. */
  tickMs?: number;
}

export interface InstallResult {
  path: string;
  method: 'download' | 'go' | 'cache';
  /** False when another process installed it while we waited. */
  fresh: boolean;
}

export type InstallMethod = { method: 'download'; url: string } | { method: 'go'; go: string } | { method: 'none'; reason: string };

/** Where release archives come from; COMPOZY_TEMPORAL_RELEASE_HOST points at a mirror. */
export function releaseHost(env: NodeJS.ProcessEnv = process.env): string {
  return (env.COMPOZY_TEMPORAL_RELEASE_HOST ?? 'https://temporal.download').replace(/\/+$/, '');
}

export function releaseArchiveUrl(env: NodeJS.ProcessEnv = process.env, version = TEMPORAL_CLI_VERSION): string {
  const os = platform() === 'win32' ? 'windows' : platform();
  const cpu = arch() === 'x64' ? 'amd64' : arch();
  return `${releaseHost(env)}/cli/archive/v${version}?platform=${os}&arch=${cpu}`;
}

/** Whether the release host answers at all; offline machines fail here within the timeout. */
export async function releaseHostReachable(env: NodeJS.ProcessEnv = process.env, timeoutMs = 3000): Promise<boolean> {
  try {
    await fetch(releaseHost(env), { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}

export async function planInstall(env: NodeJS.ProcessEnv = process.env): Promise<InstallMethod> {
  if (await releaseHostReachable(env)) return { method: 'download', url: releaseArchiveUrl(env) };
  const go = findOnPath('go', env);
  if (go) return { method: 'go', go };
  return {
    method: 'none',
    reason: `${releaseHost(env)} is not reachable and no Go toolchain is on PATH`,
  };
}

function noWayToInstall(reason: string): CompozyError {
  return new CompozyError('TEMPORAL_INSTALL_FAILED', `Cannot install the Temporal CLI: ${reason}.`, {
    hint: `Either connect to the internet and run \`compozy temporal install\`, or install Go ≥ 1.25 and run \`go install ${TEMPORAL_CLI_GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}\` (or set COMPOZY_TEMPORAL_BIN to an existing binary).`,
  });
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

interface RunResult {
  code: number | null;
  output: string;
}

function runLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logPath: string, label: string, options: InstallOptions, started: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      output = (output + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const tick = setInterval(() => {
      options.onProgress?.({ message: `${label}… ${formatElapsed(Date.now() - started)} elapsed`, elapsedMs: Date.now() - started, tick: true });
    }, options.tickMs ?? 10_000);
    child.on('error', (error) => {
      clearInterval(tick);
      log.end();
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(tick);
      log.end(() => resolvePromise({ code, output }));
    });
  });
}

/**
 * How compozy links the Temporal CLI it builds: the version it reports (`temporal --version`), no
 * symbol table or DWARF (-s -w: 213 MB instead of 252), and the Go SDK's binary checksum set at link
 * time. The server's own system workers (schedules, batches) are Go SDK workers, and a Go SDK worker
 * without one hashes its whole executable with MD5 when it is created: ~0.4 s of CPU in the dev
 * server's first second, beside compozy's own start-up. The checksum only names the build in the
 * system workflows' reset points, so a fixed name per version serves.
 */
export const GO_LDFLAGS = ['-s', '-w', `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`, `-X go.temporal.io/sdk/internal.binaryChecksum=compozy-temporal-cli-${TEMPORAL_CLI_VERSION}`];

const SUMDB_FAILURE = /sum\.golang\.org|verifying module|checksum database/i;

async function goInstall(go: string, targetDir: string, options: InstallOptions, started: number): Promise<string> {
  const env = options.env ?? process.env;
  const stagingBin = mkdtempSync(join(targetDir, '.gobin-'));
  const logPath = join(targetDir, 'install.log');
  const report = (message: string) => options.onProgress?.({ message, elapsedMs: Date.now() - started });
  const label = `Building Temporal CLI v${TEMPORAL_CLI_VERSION} with go install (several minutes on 2 cores)`;
  const baseEnv = { ...env, GOBIN: stagingBin, CGO_ENABLED: '0' };
  const args = ['install', `-ldflags=${GO_LDFLAGS.join(' ')}`, `${TEMPORAL_CLI_GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}`];
  try {
    report(`${label}; log: ${logPath}`);
    let result = await runLogged(go, args, baseEnv, logPath, label, options, started);
    if (result.code !== 0 && SUMDB_FAILURE.test(result.output) && env.GOSUMDB !== 'off') {
      report('The Go checksum database is unreachable while the module proxy works; retrying this one install with GOSUMDB=off (modules are not checked against sum.golang.org).');
      result = await runLogged(go, args, { ...baseEnv, GOSUMDB: 'off' }, logPath, label, options, started);
    }
    if (result.code !== 0) {
      const tail = result.output.trim().split('\n').slice(-15).join('\n');
      throw new CompozyError('TEMPORAL_INSTALL_FAILED', `go install failed (exit ${result.code}). Last lines:\n${tail}`, {
        hint: `Full log: ${logPath}. Check the Go module proxy (GOPROXY) and Go ≥ 1.25, or set COMPOZY_TEMPORAL_BIN.`,
      });
    }
    const built = join(stagingBin, 'temporal');
    if (!isExecutableFile(built)) {
      throw new CompozyError('TEMPORAL_INSTALL_FAILED', `go install succeeded but produced no binary at ${built}.`, { hint: `See ${logPath}.` });
    }
    return built;
  } catch (error) {
    rmSync(stagingBin, { recursive: true, force: true });
    throw error;
  }
}

async function download(url: string, targetDir: string, options: InstallOptions, started: number): Promise<string> {
  const staging = mkdtempSync(join(targetDir, '.download-'));
  try {
    options.onProgress?.({ message: `Downloading Temporal CLI v${TEMPORAL_CLI_VERSION} from ${url}`, elapsedMs: Date.now() - started });
    const response = await fetch(url, { signal: AbortSignal.timeout(300_000) });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} from ${url}`);
    const archive = join(staging, 'temporal.tar.gz');
    const bytes = Buffer.from(await response.arrayBuffer());
    const fd = openSync(archive, 'w');
    writeSync(fd, bytes);
    closeSync(fd);
    const untar = await runLogged('tar', ['-xzf', archive, '-C', staging], options.env ?? process.env, join(targetDir, 'install.log'), 'Unpacking', options, started);
    if (untar.code !== 0) throw new Error(`tar failed: ${untar.output.trim()}`);
    const binary = join(staging, 'temporal');
    if (!isExecutableFile(binary)) throw new Error(`the archive from ${url} holds no executable \`temporal\``);
    return binary;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new CompozyError('TEMPORAL_INSTALL_FAILED', `Downloading the Temporal CLI failed: ${errorMessage(error)}`, {
      hint: `Retry \`compozy temporal install\`, or build it offline: go install ${TEMPORAL_CLI_GO_PACKAGE}@v${TEMPORAL_CLI_VERSION}`,
    });
  }
}

/** Holds an exclusive lock file; a lock whose owner died is taken over. */
async function withInstallLock<T>(lockPath: string, onWait: (owner: number) => void, body: () => Promise<T>): Promise<T> {
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (!Number.isInteger(owner) || !isPidAlive(owner)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (!announced) onWait(owner);
      announced = true;
      await sleep(500);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

/**
 * Installs the pinned Temporal CLI into the per-version cache. Concurrent callers (several test
 * workers, two terminals) serialise on a lock file, and whoever waited finds the binary in place.
 */
export async function installTemporalCli(options: InstallOptions = {}): Promise<InstallResult> {
  const env = options.env ?? process.env;
  const target = cachedBinaryPath(env);
  const targetDir = dirname(target);
  mkdirSync(targetDir, { recursive: true });
  const started = Date.now();
  return withInstallLock(
    join(targetDir, '.install.lock'),
    (owner) => options.onProgress?.({ message: `Another process (pid ${owner}) is installing the Temporal CLI; waiting for it…`, elapsedMs: Date.now() - started }),
    async () => {
      if (isExecutableFile(target)) return { path: target, method: 'cache', fresh: false };
      const plan = await planInstall(env);
      if (plan.method === 'none') throw noWayToInstall(plan.reason);
      if (plan.method === 'go') {
        options.onProgress?.({ message: `${releaseHost(env)} is not reachable; building from the Go module proxy instead.`, elapsedMs: Date.now() - started });
      }
      const built = plan.method === 'download' ? await download(plan.url, targetDir, options, started) : await goInstall(plan.go, targetDir, options, started);
      renameSync(built, target);
      rmSync(dirname(built), { recursive: true, force: true });
      options.onProgress?.({ message: `Installed Temporal CLI v${TEMPORAL_CLI_VERSION} at ${target} in ${formatElapsed(Date.now() - started)}`, elapsedMs: Date.now() - started });
      return { path: target, method: plan.method, fresh: true };
    },
  );
}

export { formatElapsed };
