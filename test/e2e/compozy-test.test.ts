import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { copyExample, copyFixture, REPO, runCli, type CliResult } from '../helpers/cli.js';

/** Processes that carry this run's marker in their environment (the CLI's children inherit it). */
function marked(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`COMPOZY_TEST_RUN=${marker}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** `compozy test` with a marker in its environment; afterwards no process of it may be left. */
async function compozyTest(args: string[]): Promise<CliResult> {
  const marker = randomUUID();
  const result = await runCli(['test', ...args], { COMPOZY_TEST_RUN: marker, COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' });
  expect(marked(marker), 'processes left behind').toEqual([]);
  return result;
}

const describeResult = (r: CliResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('compozy test', () => {
  it('runs every case, one line each with its failures under it, a summary, and exits 1 when one fails', async () => {
    const project = copyFixture('compozy-test');
    const result = await compozyTest([project]);
    expect(result.code, describeResult(result)).toBe(1);
    const lines = result.stdout.trim().split('\n').map((line) => line.replace(/ \(\d+\.\d s\)$/, ''));
    expect(lines).toEqual([
      'compozy test review: 4 cases in 1 file',
      '✔ tests/review.test.yaml › a good text is accepted',
      '✔ tests/review.test.yaml › the replay answers are used when a case names them',
      '✗ tests/review.test.yaml › a bad text is accepted (fails on purpose)',
      '    output: verdict is "bad", expected "good"',
      '    task accept did not run',
      '✗ tests/review.test.yaml › an answer outside the output schema fails the task (expects SUCCESS on purpose)',
      expect.stringMatching(/^ {4}status is FAILED \(LLM_OUTPUT_INVALID: .*replay:scripted gave no valid JSON answer in 3 attempts: .*\/verdict must be equal to one of the allowed values\), expected SUCCESS$/),
      '4 cases: 2 passed, 2 failed',
    ]);
  }, 120_000);

  it('--json prints one object of a stable shape', async () => {
    const project = copyFixture('compozy-test');
    const result = await compozyTest([project, '--json']);
    expect(result.code, describeResult(result)).toBe(1);
    const report = JSON.parse(result.stdout) as { cases: Record<string, unknown>[] } & Record<string, unknown>;
    expect(report).toEqual({ project: 'review', passed: 2, failed: 2, duration_ms: expect.any(Number), cases: expect.any(Array) });
    expect(report.cases[0]).toEqual({
      file: 'tests/review.test.yaml',
      line: 5,
      name: 'a good text is accepted',
      workflow: 'review',
      passed: true,
      exec_id: expect.stringMatching(/^[0-9A-Za-z]{27}$/),
      status: 'SUCCESS',
      failures: [],
      duration_ms: expect.any(Number),
    });
    expect(report.cases.map((c) => [c.passed, c.status])).toEqual([
      [true, 'SUCCESS'],
      [true, 'SUCCESS'],
      [false, 'SUCCESS'],
      [false, 'FAILED'],
    ]);
    expect(report.cases[2]?.failures).toEqual(['output: verdict is "bad", expected "good"', 'task accept did not run']);
  }, 120_000);

  it('exits 0 when every case passes', async () => {
    const project = copyFixture('compozy-test');
    const file = join(project, 'tests', 'review.test.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.indexOf('  - name: a bad text')));
    const result = await compozyTest([project]);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toContain('2 cases: 2 passed, 0 failed');
  }, 120_000);

  it('a test file with unknown fields or names is refused with file:line:col, all at once, before any case runs (exit 2)', async () => {
    const project = copyFixture('compozy-test');
    writeFileSync(
      join(project, 'tests', 'broken.test.yaml'),
      ['cases:', '  - name: typo', '    workflow: reviw', '    expct:', '      status: DONE', '    answers:', '      - agent: critik', '        output: {}', ''].join('\n'),
    );
    const result = await compozyTest([project]);
    expect(result.code, describeResult(result)).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').slice(0, 5)).toEqual([
      '✗ The test files have 4 problems:',
      '  tests/broken.test.yaml:2:5: cases[0]: Case "typo" has no expect:. Add expect: {status: SUCCESS, output: …}.',
      '  tests/broken.test.yaml:3:5: cases[0].workflow: The project has no workflow "reviw". Did you mean "review"?',
      '  tests/broken.test.yaml:4:5: cases[0].expct: Unknown case field "expct". Did you mean "expect"?',
      '  tests/broken.test.yaml:7:9: cases[0].answers[0].agent: The project has no agent "critik". Did you mean "critic"?',
    ]);
  }, 60_000);

  it("the weather example's test file, the one the README shows, passes", async () => {
    const project = copyExample('weather');
    const file = readFileSync(join(project, 'tests', 'weather.test.yaml'), 'utf8');
    expect(readFileSync(join(REPO, 'README.md'), 'utf8')).toContain(file);
    const result = await compozyTest([project]);
    expect(result.code, describeResult(result)).toBe(0);
    expect(result.stdout).toContain('2 cases: 2 passed, 0 failed');
  }, 120_000);

  it('a project without test files is a usage error (exit 2)', async () => {
    const project = copyFixture('compozy-test');
    rmSync(join(project, 'tests'), { recursive: true });
    const result = await compozyTest([project, '--json']);
    expect(result.code, describeResult(result)).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'USAGE', message: `${project} has no test files (*.test.yaml).` } });
  }, 60_000);
});
