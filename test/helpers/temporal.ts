import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/platform/ports.js';
import { waitForTemporal } from '../../src/temporal/readiness.js';

export interface TestTemporal {
  address: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A throwaway Temporal dev server (in memory) on a free port, for suites that run real workflows. */
export async function startTemporal(bin: string, dynamicConfig: string[] = []): Promise<TestTemporal> {
  const port = await freePort();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--log-level', 'error', '--namespace', 'default'];
  for (const value of dynamicConfig) args.push('--dynamic-config-value', value);
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const address = `127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForTemporal(address, 'default', { timeoutMs: 30_000 });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Temporal dev server did not start: ${(error as Error).message}\n${stderr}`);
  }
  return {
    address,
    child,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
