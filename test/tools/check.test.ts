import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/checks.js';
import type { ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { copyFixture, runCli } from '../helpers/cli.js';

async function validate(project: string): Promise<{ code: number | null; valid: boolean; diagnostics: ConfigDiagnostic[] }> {
  const result = await runCli(['config', 'validate', project, '--json']);
  return { code: result.code, ...(JSON.parse(result.stdout) as { valid: boolean; diagnostics: ConfigDiagnostic[] }) };
}

async function doctorTools(project: string): Promise<{ code: number | null; checks: CheckResult[] }> {
  const result = await runCli(['doctor', 'tools', '--project', project, '--json']);
  return { code: result.code, checks: (JSON.parse(result.stdout) as { checks: CheckResult[] }).checks };
}

/** The faults-tools fixture with this entrypoint, and lines appended to compozy.yaml (which ends in its runtime: map). */
function project(entrypoint: string, runtimeLines = ''): string {
  const dir = copyFixture('faults-tools');
  writeFileSync(join(dir, 'entrypoint.ts'), entrypoint);
  if (runtimeLines) writeFileSync(join(dir, 'compozy.yaml'), readFileSync(join(dir, 'compozy.yaml'), 'utf8') + runtimeLines);
  return dir;
}

const GOOD = `export default { spin: () => 1, say: () => ({ ok: true }), greet: (input: { name: string }) => ({ greeting: \`hello \${input.name}\` }) };\n`;

describe('config validate and doctor check the tool runtime', () => {
  it('a loading entrypoint that exports every declared tool is valid, and doctor passes', async () => {
    const dir = project(GOOD);
    expect(await validate(dir)).toMatchObject({ code: 0, valid: true, diagnostics: [] });
    const { code, checks } = await doctorTools(dir);
    expect(code).toBe(0);
    expect(checks).toEqual([{ name: 'tools', status: 'pass', message: `${join(dir, 'entrypoint.ts')} loads and exports every declared tool` }]);
  });

  it('an entrypoint that throws at import is reported with its line, by validate (exit 2) and doctor (fail)', async () => {
    const dir = project(`${GOOD}throw new Error('API key missing at import');\n`);
    const { code, valid, diagnostics } = await validate(dir);
    expect([code, valid]).toEqual([2, false]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: join(dir, 'compozy.yaml'), key: 'runtime.entrypoint' });
    expect(diagnostics[0]?.message).toContain('Error: API key missing at import');
    expect(diagnostics[0]?.message).toContain(`${join(dir, 'entrypoint.ts')}:2:7`);
    const doctor = await doctorTools(dir);
    expect(doctor.code).toBe(1);
    expect(doctor.checks[0]).toMatchObject({ name: 'tools', status: 'fail' });
    expect(doctor.checks[0]?.message).toContain('API key missing at import');
    expect(doctor.checks[0]?.fix).toBeTruthy();
  });

  it('a syntax error is reported with its line', async () => {
    const dir = project(`const a = 1;\nexport default {\n  greet: () => ({ a },\n};\n`);
    const { code, diagnostics } = await validate(dir);
    expect(code).toBe(2);
    expect(diagnostics[0]?.message).toContain('SyntaxError');
    expect(diagnostics[0]?.message).toMatch(new RegExp(`${join(dir, 'entrypoint.ts').replaceAll('.', '\\.')}:[34]\\b`));
  });

  it('a missing entrypoint, with tools declared, is reported', async () => {
    const dir = project(GOOD);
    rmSync(join(dir, 'entrypoint.ts'));
    const { code, diagnostics } = await validate(dir);
    expect(code).toBe(2);
    expect(diagnostics.map((d) => [d.key, d.message])).toEqual([['runtime.entrypoint', `The tool entrypoint ${join(dir, 'entrypoint.ts')} does not exist, and the project declares 3 tools (spin, greet, say).`]]);
  });

  it('an unknown runtime permission and a declared tool the entrypoint does not export are each reported at their place', async () => {
    const dir = project(`export default { greet: () => ({ greeting: 'hi' }), say: () => ({ ok: true }) };\n`, '  permissions:\n    - --allow-read\n    - --allow-teleport\n');
    const { code, diagnostics } = await validate(dir);
    expect(code).toBe(2);
    expect(diagnostics.map((d) => d.key)).toEqual(['runtime.permissions[1]', 'tools[0].id']);
    expect(diagnostics[0]?.message).toBe('Unknown runtime permission "--allow-teleport".');
    expect(diagnostics[1]).toMatchObject({ file: join(dir, 'workflows', 'spin.yaml') });
    expect(diagnostics[1]?.message).toContain(`Tool "spin" is declared, but ${join(dir, 'entrypoint.ts')} exports no "spin" (it has: greet, say).`);
  });

  it('doctor says what runtime.permissions cannot enforce (a warning, exit 0), and passes once the project says tools have it', async () => {
    const restricted = await doctorTools(project(GOOD, '  permissions:\n    - --allow-read=./workflows\n'));
    expect(restricted.code).toBe(0);
    expect(restricted.checks[0]).toMatchObject({ name: 'tools', status: 'warn' });
    expect(restricted.checks[0]?.message).toContain('runtime.permissions cannot enforce: network access is not denied (Node has no network permission); environment access is not denied (Node has no environment permission)');
    expect(restricted.checks[0]?.fix).toContain('--allow-net and --allow-env');
    const acknowledged = project(GOOD, '  permissions:\n    - --allow-read=./workflows\n    - --allow-net\n    - --allow-env\n');
    expect((await doctorTools(acknowledged)).checks).toEqual([{ name: 'tools', status: 'pass', message: `${join(acknowledged, 'entrypoint.ts')} loads and exports every declared tool` }]);
  });

  it('doctor and validate fail a sandbox that would not hold: a symlink in a granted folder that leads outside', async () => {
    const dir = project(GOOD, '  permissions:\n    - --allow-read=./workflows\n');
    symlinkSync('/etc/passwd', join(dir, 'workflows', 'link_passwd'));
    const { code, checks } = await doctorTools(dir);
    expect(code).toBe(1);
    expect(checks[0]).toMatchObject({ name: 'tools', status: 'fail' });
    expect(checks[0]?.message).toContain(`runtime.permissions: ${join(dir, 'workflows', 'link_passwd')} is a symbolic link to /etc/passwd, outside what runtime.permissions grant`);
    const { code: validated, diagnostics } = await validate(dir);
    expect(validated).toBe(2);
    expect(diagnostics.map((d) => d.key)).toEqual(['runtime.permissions']);
  });

  it("a loader variable in a tool's env: is reported at its place by validate and doctor", async () => {
    const dir = project(GOOD);
    const spin = join(dir, 'workflows', 'spin.yaml');
    writeFileSync(spin, readFileSync(spin, 'utf8').replace('  - id: spin\n', '  - id: spin\n    env:\n      NODE_OPTIONS: --require /tmp/evil.js\n'));
    const { code, diagnostics } = await validate(dir);
    expect(code).toBe(2);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ file: spin, key: 'tools[0].env', message: 'Tool "spin" sets NODE_OPTIONS, which could change how the tool runtime loads code. Its calls fail with TOOL_ENV_REJECTED.' });
    expect((await doctorTools(dir)).checks[0]).toMatchObject({ name: 'tools', status: 'fail' });
  });

  it('dev refuses an unknown runtime permission before starting anything (exit 2, named), rather than crashing serve at start-up', async () => {
    const dir = project(GOOD, '  permissions:\n    - --allow-teleport\n');
    const result = await runCli(['dev', dir, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).toContain('runtime.permissions[0]: Unknown runtime permission "--allow-teleport".');
  });
});
