import { createServer, type Server } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/checks.js';
import { copyFixture, REPO, runCli } from '../helpers/cli.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface DoctorJson {
  checks: CheckResult[];
  passed: number;
  total: number;
  ok: boolean;
}

async function doctor(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; json: DoctorJson; stdout: string }> {
  const result = await runCli(['doctor', ...args], { ...env, ...extraEnv });
  return { code: result.code, json: args.includes('--json') ? (JSON.parse(result.stdout) as DoctorJson) : ({} as DoctorJson), stdout: result.stdout };
}

describe('compozy doctor', () => {
  it('--json has one entry per applicable check, each with a status, and a fix for each failure', async () => {
    const project = copyFixture('minimal');
    const { code, json } = await doctor(['--json', '--project', project]);
    expect(json.checks.map((c) => c.name)).toEqual(['node', 'temporal', 'state', 'ports']);
    for (const check of json.checks) {
      expect(['pass', 'warn', 'fail']).toContain(check.status);
      expect(check.message.length).toBeGreaterThan(0);
      if (check.status !== 'pass') expect(check.fix).toBeTruthy();
    }
    expect(json.checks.find((c) => c.name === 'node')).toMatchObject({ status: 'pass', required: '>= 22.13' });
    expect(json.checks.find((c) => c.name === 'state')).toMatchObject({ status: 'pass' });
    expect(json.total).toBe(4);
    expect(code).toBe(json.ok ? 0 : 1);
  });

  it('exits 1 on a failing check and names the fix', async () => {
    const { code, json } = await doctor(['--json', 'temporal'], { COMPOZY_TEMPORAL_BIN: '/nonexistent/temporal' });
    expect(code).toBe(1);
    expect(json.ok).toBe(false);
    expect(json.checks).toHaveLength(1);
    expect(json.checks[0]).toMatchObject({ name: 'temporal', status: 'fail' });
    expect(json.checks[0]?.message).toContain('/nonexistent/temporal');
    expect(json.checks[0]?.fix).toContain('COMPOZY_TEMPORAL_BIN');
  });

  it('human output has one line per check and a summary', async () => {
    const { code, stdout } = await doctor(['node', 'state', '--project', copyFixture('minimal')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^✔ node\s+Node \d+/m);
    expect(stdout).toMatch(/^✔ state\s+.*\.compozy is writable$/m);
    expect(stdout).toContain('2/2 checks passed');
  });

  it('checks Redis and PostgreSQL when they are configured, and fails on an unreachable one', async () => {
    const up = await doctor(['--json', 'redis', 'postgres'], { REDIS_URL, DATABASE_URL });
    expect(up.json.checks).toEqual([
      expect.objectContaining({ name: 'redis', status: 'pass', message: expect.stringContaining('PONG') }),
      expect.objectContaining({ name: 'postgres', status: 'pass' }),
    ]);
    expect(up.code).toBe(0);

    const closed: Server = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', () => done()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    const down = await doctor(['--json', 'redis'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.json.checks[0]).toMatchObject({ name: 'redis', status: 'fail' });
    expect(down.json.checks[0]?.message).toContain(`127.0.0.1:${port}`);
  });

  it('never prints the password of a Redis or PostgreSQL URL', async () => {
    const human = await runCli(['doctor', 'redis', 'postgres'], { ...env, REDIS_URL: 'redis://app:s3cret-redis@127.0.0.1:1', DATABASE_URL: 'postgres://app:s3cret-pg@127.0.0.1:1/test' });
    expect(human.code).toBe(1);
    expect(human.stdout + human.stderr).not.toContain('s3cret');
    expect(human.stdout).toContain('redis://app:***@127.0.0.1:1');
    expect(human.stdout).toContain('postgres://app:***@127.0.0.1:1/test');
  });

  it('warnings fail only with --strict', async () => {
    const project = copyFixture('minimal');
    writeFileSync(join(project, 'compozy.yaml'), 'name: minimal\nmodels:\n  - provider: groq\n    model: llama\n    api_key: "{{ .env.COMPOZY_TEST_UNSET_A }}"\n  - provider: openai\n    model: gpt\n    default: true\n    api_key: "${COMPOZY_TEST_SET_B}"\n');
    const relaxed = await doctor(['--json', 'llm', '--project', project], { COMPOZY_TEST_SET_B: 'x' });
    expect(relaxed.json.checks[0]).toMatchObject({ name: 'llm', status: 'warn', message: 'groq:llama needs COMPOZY_TEST_UNSET_A' });
    expect(relaxed.code).toBe(0);
    const strict = await doctor(['--json', '--strict', 'llm', '--project', project], { COMPOZY_TEST_SET_B: 'x' });
    expect(strict.code).toBe(1);
    const human = await doctor(['llm', '--project', project], { COMPOZY_TEST_SET_B: 'x' });
    expect(human.stdout.trim().split('\n').at(-1)).toBe('0/1 checks passed, 1 warning');
    const mixed = await doctor(['node', 'llm', 'temporal', '--project', project], { COMPOZY_TEST_SET_B: 'x', COMPOZY_TEMPORAL_BIN: '/nonexistent/temporal' });
    expect(mixed.code).toBe(1);
    expect(mixed.stdout.trim().split('\n').at(-1)).toBe('1/3 checks passed, 1 warning, 1 failure');
  });

  it('agents: passes with the models the agents use, fails when a replay file is missing', async () => {
    const weather = await doctor(['--json', 'agents', '--project', join(REPO, 'examples', 'weather')], { GROQ_API_KEY: '' });
    expect(weather.json.checks[0]).toMatchObject({ name: 'agents', status: 'pass', message: 'agents use replay:weather' });
    const project = copyFixture('minimal');
    writeFileSync(join(project, 'compozy.yaml'), 'name: minimal\nworkflows:\n  - source: ./wf.yaml\n');
    writeFileSync(join(project, 'wf.yaml'), 'id: wf\nagents:\n  - id: a\n    model: replay:nothing\n    actions:\n      - id: x\n        prompt: hi\ntasks:\n  - id: t\n    agent: a\n    action: x\n');
    const broken = await doctor(['--json', 'agents', '--project', project]);
    expect(broken.code).toBe(1);
    expect(broken.json.checks[0]).toMatchObject({ name: 'agents', status: 'fail', message: expect.stringContaining('replay/nothing.yaml does not exist') });
  });

  it('runs its checks in the order the help lists them', async () => {
    const { CHECKS } = await import('../../src/doctor/checks.js');
    const { CHECK_NAMES } = await import('../../src/doctor/names.js');
    expect(CHECKS.map((c) => c.name)).toEqual([...CHECK_NAMES]);
  });

  it('rejects an unknown check name as a usage error', async () => {
    const result = await runCli(['doctor', 'nonsense'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown check: nonsense.');
    const typo = await runCli(['doctor', 'postgress', 'nonsense'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Unknown checks: postgress, nonsense.');
    expect(typo.stderr).toContain('Did you mean "postgres"? Checks: ');
  });
});
