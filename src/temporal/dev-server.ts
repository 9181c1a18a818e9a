import { join } from 'node:path';

export interface DevServerConfig {
  port: number;
  namespace: string;
  stateDir: string;
  cliVersion: string;
  /** Serve the web UI on this port; headless when undefined. */
  uiPort?: number | undefined;
}

/** The dev server's SQLite file, keyed by CLI version: newer CLIs may not read older files. */
export function devServerDbPath(stateDir: string, cliVersion: string): string {
  return join(stateDir, `temporal-${cliVersion}.db`);
}

export function devServerArgs(config: DevServerConfig): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.port),
    '--namespace',
    config.namespace,
    '--db-filename',
    devServerDbPath(config.stateDir, config.cliVersion),
    '--log-format',
    'json',
    '--log-level',
    'warn',
    ...(config.uiPort === undefined ? ['--headless'] : ['--ui-port', String(config.uiPort)]),
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
}
