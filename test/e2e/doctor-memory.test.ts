import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/checks.js';
import { copyFixture, runCli } from '../helpers/cli.js';
import { REDIS_URL } from '../helpers/services.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };

async function memoryRow(project: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; row: CheckResult | undefined }> {
  const result = await runCli(['doctor', 'memory', '--project', project, '--json'], { ...env, ...extraEnv });
  return { code: result.code, row: (JSON.parse(result.stdout) as { checks: CheckResult[] }).checks.find((c) => c.name === 'memory') };
}

describe('compozy doctor: the memory row', () => {
  it('passes for valid resources, naming them and the KV they persist to', async () => {
    const project = copyFixture('memory-cli');
    const { code, row } = await memoryRow(project);
    expect(code).toBe(0);
    expect(row).toEqual({ name: 'memory', status: 'pass', message: `1 memory resource (notes); 1 persists to the embedded SQLite KV at ${join(project, '.compozy', 'kv.db')}` });
  });

  it('fails on an invalid memory resource with each problem at its place and the fix', async () => {
    const project = copyFixture('memory-cli');
    writeFileSync(join(project, 'memory', 'chat.yaml'), 'resource: memory\nid: chat\ntype: token_based\ntoken_allocation: { short_term: 0.5, long_term: 0.2, system: 0.1 }\npersistence: { type: redis }\n');
    const { code, row } = await memoryRow(project);
    expect(code).toBe(1);
    expect(row?.status).toBe('fail');
    expect(row?.message).toContain('2 memory resources (chat, notes); 3 problems: memory/chat.yaml:3:1: type: token_based memory needs max_tokens or max_context_ratio.');
    expect(row?.message).toContain('memory/chat.yaml:4:1: token_allocation: The token_allocation parts sum to 0.8; they must sum to 1.');
    expect(row?.message).toContain('memory/chat.yaml:5:1: persistence: persistence.ttl is required for persistence type redis.');
    expect(row?.fix).toContain('Add max_tokens: 2000.');
    expect(row?.fix).toContain('Add ttl: 168h');
    // Text output: the row and its fix.
    const text = await runCli(['doctor', 'memory', '--project', project], env);
    expect(text.stdout).toMatch(/✗ memory +2 memory resources \(chat, notes\); 3 problems: /);
    expect(text.stdout).toContain('fix: ');
  });

  it('fails when the KV the conversations persist to does not open, and passes on a Redis that answers', async () => {
    const project = copyFixture('memory-cli');
    const down = await memoryRow(project, { COMPOZY_KV_DRIVER: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.row).toMatchObject({ status: 'fail', message: expect.stringContaining('1 persists to a KV that does not open: Redis at redis://127.0.0.1:1 is not reachable'), fix: expect.stringContaining('Start Redis') });
    const up = await memoryRow(project, { COMPOZY_KV_DRIVER: 'redis', REDIS_URL });
    expect(up.row).toMatchObject({ status: 'pass', message: expect.stringContaining('1 persists to Redis at redis://') });
  });

  it('says in_memory resources need no KV, and does not apply to a project without memories', async () => {
    const project = copyFixture('memory-cli');
    writeFileSync(join(project, 'memory', 'notes.yaml'), 'resource: memory\nid: notes\nkey: "user:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: in_memory }\n');
    expect((await memoryRow(project)).row).toEqual({ name: 'memory', status: 'pass', message: '1 memory resource (notes), all in_memory: in the server process only, gone when it stops' });
    rmSync(join(project, 'memory', 'notes.yaml'));
    rmSync(join(project, 'workflows', 'remember.yaml'));
    writeFileSync(join(project, 'compozy.yaml'), 'name: memory-cli\nversion: "0.1.0"\n');
    expect((await memoryRow(project)).row).toBeUndefined();
  });
});
