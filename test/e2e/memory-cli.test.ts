import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, copyFixture, DevProcess, REPO, runCli, stopDevProcesses, type CliResult } from '../helpers/cli.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const started: DevProcess[] = [];
let project: string;
let apiUrl: string;

/** `compozy memory …` with text on its stdin. */
function memoryWithStdin(args: string[], input: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, 'memory', ...args], { cwd: REPO, env: { ...process.env, ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const memory = (...args: string[]) => runCli(['memory', ...args], env);
const json = (result: CliResult) => JSON.parse(result.stdout) as Record<string, unknown>;

async function remember(user: string, text: string): Promise<void> {
  const answer = (await (await fetch(`${apiUrl}/api/v0/workflows/remember/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { user, text } }) })).json()) as { data: { exec_id: string } };
  let status = '';
  for (let i = 0; i < 200 && status !== 'SUCCESS' && status !== 'FAILED'; i++) {
    await sleep(100);
    status = String(((await (await fetch(`${apiUrl}/api/v0/executions/workflows/${answer.data.exec_id}`)).json()) as { data: { status: string } }).data.status);
  }
  expect(status).toBe('SUCCESS');
}

beforeAll(() => {
  project = copyFixture('memory-cli');
});

afterAll(async () => {
  await stopDevProcesses(started);
});

describe('compozy memory', () => {
  it('says clearly that nothing is running, in text and in JSON', async () => {
    const text = await memory('read', 'notes', project, '--key', 'user:ada');
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain('compozy dev is not running for memory-cli');
    expect(text.stderr).toContain('Start it with `compozy dev');
    const asJson = await memory('stats', 'notes', project, '--key', 'user:ada', '--json');
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({ error: { code: 'NOT_RUNNING' } });
  });

  it('refuses bad flags before it needs a server', async () => {
    expect((await memory('read', 'notes', project)).code).toBe(2);
    expect((await memory('read', 'notes', project, '--key', 'k', '--limit', 'ten')).stderr).toContain('--limit must be a whole number');
    const role = await memory('append', 'notes', project, '--key', 'k', '--role', 'robot', '--content', 'x');
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('--role must be one of system, user, assistant, tool');
    const clear = await memory('clear', 'notes', project, '--key', 'k');
    expect(clear.code).toBe(2);
    expect(clear.stderr).toContain('Add --confirm');
  });

  it('reads, appends, counts and clears what a memory task wrote, through the API of the running compozy dev', async () => {
    const dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    apiUrl = String((await dev.waitFor('ready', 1, 120_000)).apiUrl);
    await remember('ada', 'I like tea');

    const read = await memory('read', 'notes', project, '--key', 'user:ada', '--json');
    expect(read.code, read.stderr).toBe(0);
    expect(json(read)).toMatchObject({ key: 'user:ada', messages: [{ role: 'user', content: 'I like tea' }, { role: 'assistant', content: 'noted' }], total_count: 2, has_more: false });

    expect((await memory('append', 'notes', project, '--key', 'user:ada', '--content', 'and biscuits')).stdout).toBe('✔ appended 1 message to notes "user:ada" (3 in all)\n');
    const piped = await memoryWithStdin(['append', 'notes', project, '--key', 'user:ada', '--role', 'assistant', '--json'], 'two lines\nof reply\n');
    expect(piped.code, piped.stderr).toBe(0);
    expect(json(piped)).toEqual({ success: true, appended: 1, total_count: 4, key: 'user:ada' });

    const text = await memory('read', 'notes', project, '--key', 'user:ada');
    expect(text.stdout).toBe(
      ['notes "user:ada": messages 1–4 of 4', '1  user       I like tea', '2  assistant  noted', '3  user       and biscuits', '4  assistant  two lines', '              of reply', ''].join('\n'),
    );
    const page = await memory('read', 'notes', project, '--key', 'user:ada', '--limit', '1', '--offset', '2');
    expect(page.stdout).toBe('notes "user:ada": messages 3–3 of 4\n3  user       and biscuits\n… 1 more message: --offset 3\n');

    const stats = await memory('stats', 'notes', project, '--key', 'user:ada', '--json');
    expect(json(stats)).toMatchObject({ key: 'user:ada', message_count: 4, context_window_used: 4, role_distribution: { user: 2, assistant: 2 }, actual_strategy: 'simple_fifo' });
    const statsText = (await memory('stats', 'notes', project, '--key', 'user:ada')).stdout;
    expect(statsText).toMatch(/^notes "user:ada"\n {2}messages {8}4\n/);
    expect(statsText).toContain('roles           user 2, assistant 2');

    const unknown = await memory('read', 'nots', project, '--key', 'user:ada');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Memory "nots" does not exist.');
    expect(unknown.stderr).toContain('Did you mean "notes"?');
    const tooMany = await memory('read', 'notes', project, '--key', 'user:ada', '--limit', '1001', '--json');
    expect(tooMany.code).toBe(2);
    expect(json(tooMany)).toMatchObject({ error: { code: 'INPUT_INVALID' } });

    await remember('bob', 'hello');
    const cleared = await memory('clear', 'notes', project, '--key', 'user:*', '--confirm');
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toBe('✔ cleared 6 messages from 2 conversations of notes matching "user:*"\n');
    expect((await memory('read', 'notes', project, '--key', 'user:ada')).stdout).toBe('notes "user:ada": no messages\n');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect((await memory('read', 'notes', project, '--key', 'user:ada')).stderr).toContain('compozy dev is not running for memory-cli');
  }, 180_000);
});
