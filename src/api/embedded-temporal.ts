import { CompozyError } from '../errors.js';
import { freePort } from '../platform/ports.js';
import { withParentDeathSignal } from '../supervisor/child-process.js';
import { resolveTemporalBinary } from '../temporal/binary.js';
import { checkDevServerDb, devServerArgs, devServerDbPath, diagnoseStartFailure } from '../temporal/dev-server.js';
import { waitForTemporal } from '../temporal/readiness.js';

export interface EmbeddedTemporalOptions {
  namespace: string;
  /** An explicit Temporal CLI (settings' temporal.bin); else the resolver's PATH → cache → install. */
  bin?: string | undefined;
  /** Persist the history in `<stateDir>/temporal-<cli version>.db` (the file `compozy dev` uses); in memory when absent. */
  stateDir?: string | undefined;
  /** Where the dev server's own output goes (a library must not write into its host's stdout). */
  log: (line: string) => void;
}

/** A Temporal server this process started or was given. */
export interface TemporalServer {
  address: string;
  /** e.g. "embedded dev server (CLI 1.5.1)", for health rows. */
  backend: string;
  stop(): Promise<void>;
}

/** How long the dev server gets to exit on TERM before it is killed. */
const STOP_GRACE_MS = 5000;

/**
 * The Temporal dev server on a free port with the same arguments as `compozy dev`'s (its history in
 * the state folder, or in memory), its output sent to `log`, ready once it serves the namespace.
 * execa ends it if this process exits; if the process dies without running its exit handlers (SIGKILL,
 * a crash) the kernel sends it TERM, as to `compozy dev`'s children (setpriv --pdeathsig, on Linux).
 */
export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions): Promise<TemporalServer> {
  const binary = await resolveTemporalBinary({ config: options.bin, install: true, onProgress: (event) => options.log(event.message) });
  const stateDir = options.stateDir;
  if (stateDir !== undefined) checkDevServerDb(devServerDbPath(stateDir, binary.version));
  const port = await freePort();
  const args = devServerArgs({ port, namespace: options.namespace, stateDir, cliVersion: binary.version });
  const { execa } = await import('execa');
  const start = withParentDeathSignal(binary.path, args);
  const child = execa(start.command, start.args, { stdin: 'ignore', all: true, buffer: false, reject: false, cleanup: true, forceKillAfterDelay: STOP_GRACE_MS });
  const lines: string[] = [];
  const output = (async () => {
    for await (const line of child.iterable({ from: 'all' })) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 50) lines.shift();
      options.log(`[temporal] ${line}`);
    }
  })();
  const exited = new AbortController();
  const done = Promise.all([child, output]).then(([result]) => {
    exited.abort(new CompozyError('TEMPORAL_START_FAILED', `The Temporal dev server (${binary.path}) exited during start-up (${result.exitCode ?? result.signal}).`));
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(address, options.namespace, { timeoutMs: 30_000, abort: exited.signal });
  } catch (error) {
    child.kill('SIGKILL');
    await done;
    throw diagnoseStartFailure(lines, stateDir === undefined ? '(in memory)' : devServerDbPath(stateDir, binary.version)) ?? error;
  }
  return {
    address,
    backend: `embedded dev server (CLI ${binary.version})`,
    async stop() {
      child.kill('SIGTERM');
      await done;
    },
  };
}
