import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('config show never fails on what config validate accepts', () => {
  it('an environment variable that does not parse is a validate warning, and show prints the other settings and names it', async () => {
    const env = { SERVER_PORT: 'abc', TOOL_EXECUTION_TIMEOUT: 'soon', COMPOZY_MODE: 'memory' };
    const validate = await runCli(['config', 'validate', 'test/fixtures/compat/models-refs', '--json'], { ...env, LLM_URL: 'http://127.0.0.1:9/v1' });
    expect(JSON.parse(validate.stdout)).toMatchObject({ valid: true, warnings: [expect.objectContaining({ key: 'SERVER_PORT' })] });
    const show = await runCli(['config', 'show', 'test/fixtures/compat/models-refs', '--json'], env);
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout) as { settings: Record<string, { value: unknown; source: string }>; refused: { variable: string; message: string }[] };
    expect(shown.refused.map((r) => r.variable)).toEqual(['SERVER_PORT', 'TOOL_EXECUTION_TIMEOUT']);
    expect(shown.refused[0]?.message).toContain('SERVER_PORT must be a TCP port');
    expect(shown.settings.serverPort).toMatchObject({ value: 5001, source: 'default' });
    expect(shown.settings.mode).toMatchObject({ value: 'memory', source: 'env' });
    const text = await runCli(['config', 'show', 'test/fixtures/compat/models-refs'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('! SERVER_PORT is left out above: SERVER_PORT must be a TCP port');
  });
});

describe('--config names the project file on every command that loads a project', () => {
  const dir = 'test/fixtures/minimal';
  const other = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'compozy-config-')), 'other.yaml');
    writeFileSync(file, 'name: other\nversion: "0.1.0"\nserver:\n  port: 6123\n');
    return file;
  };

  it('config show and validate read the file -c names instead of compozy.yaml', async () => {
    const file = other();
    const show = await runCli(['config', 'show', dir, '-c', file, '--json'], {});
    expect(show.code, show.stderr).toBe(0);
    expect((JSON.parse(show.stdout) as { settings: Record<string, { value: unknown }> }).settings.serverPort).toMatchObject({ value: 6123 });
    const validate = await runCli(['config', 'validate', dir, '--config', file, '--json'], {});
    expect(JSON.parse(validate.stdout)).toMatchObject({ valid: true, project: 'other' });
  });

  it('a --config file that does not exist is refused by name, by every command that takes it', async () => {
    for (const args of [['config', 'validate', dir], ['status', dir], ['auth', 'list-keys', dir], ['doctor', '--project', dir]]) {
      const result = await runCli([...args, '--config', 'no-such.yaml', '--json'], {});
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stdout + result.stderr, args.join(' ')).toContain('no-such.yaml');
    }
  });
});
