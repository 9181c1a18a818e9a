import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type RunState, writeRunState } from '../../src/platform/run-state.js';
import { tempDir } from './fake-bin.js';

/** A temporary project directory with these files. */
export function writeFiles(files: Record<string, string>): string {
  const dir = tempDir('compozy-project-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** A `.compozy/run.json` for `project`, as a `compozy dev` run would leave it (for reaping and reuse tests). */
export function recordRun(project: string, name: string, run: Pick<RunState, 'supervisorPid' | 'apiUrl' | 'children'>): void {
  mkdirSync(join(project, '.compozy'), { recursive: true });
  writeRunState(join(project, '.compozy'), {
    version: 1,
    project: name,
    projectDir: project,
    mode: 'standalone',
    startedAt: new Date().toISOString(),
    temporalAddress: '127.0.0.1:1',
    ...run,
  });
}
