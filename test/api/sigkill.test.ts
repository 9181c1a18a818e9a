import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The state letter of a process (R, S, Z…), undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Dead: gone, or a zombie nobody has reaped yet (a container's init may never reap it). */
const dead = (pid: number) => [undefined, 'Z', 'X'].includes(processState(pid));

/** The children of a process whose command is `name`. */
function childrenNamed(parent: number, name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        return comm === name && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    });
}

const PROGRAM = `
import { createCompozy } from 'compozy';
const compozy = createCompozy({
  project: { config: { name: 'killed', workflows: [{ source: './hello.yaml' }] }, files: { 'hello.yaml': { id: 'hello', tasks: [{ id: 'greet', type: 'aggregate', outputs: { ok: true } }] } } },
  ephemeral: true,
  temporal: { bin: process.argv[2] },
});
await compozy.start();
console.log('started');
setInterval(() => undefined, 60_000);
`;

describe.runIf(process.platform === 'linux')('a program using the API that is SIGKILLed', () => {
  it('takes its embedded Temporal dev server with it', async () => {
    // Inside the repository, so `import 'compozy'` resolves to this package; its temporary folders in a folder of the test's own.
    const dir = mkdtempSync(join(REPO, '.sigkill-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'program.mjs'), PROGRAM);
    const child = spawn(process.execPath, ['program.mjs', inject('temporalBin')], { cwd: dir, env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let pid: number | undefined;
    try {
      await expect.poll(() => output, { timeout: 60_000, interval: 100 }).toContain('started');
      const temporal = childrenNamed(child.pid as number, 'temporal');
      expect(temporal, output).toHaveLength(1);
      pid = temporal[0] as number;
      expect(dead(pid)).toBe(false);
      child.kill('SIGKILL');
      await exited;
      const deadline = Date.now() + 20_000;
      while (!dead(pid) && Date.now() < deadline) await sleep(100);
      expect(dead(pid), `temporal (pid ${pid}) outlived its SIGKILLed parent`).toBe(true);
    } finally {
      child.kill('SIGKILL');
      if (pid !== undefined && !dead(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 90_000);
});
