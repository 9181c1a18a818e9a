import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };

describe('compozy init', () => {
  it('scaffolds a basic project without asking when not at a terminal, and the project runs offline', async () => {
    const dir = join(tempDir('init'), 'hello-app');
    const created = await runCli(['init', dir, '--json'], env);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({
      dir,
      name: 'hello-app',
      template: 'basic',
      model: 'replay',
      files: ['.gitignore', 'api.http', 'compozy.yaml', 'entrypoint.ts', 'replay/default.yaml', 'workflows/greet.yaml'],
    });
    expect(readFileSync(join(dir, 'compozy.yaml'), 'utf8')).toMatch(/^name: hello-app$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('.compozy/');
    const run = await runCli(['run', 'greet', dir, '--input', '{"name":"Ada","city":"Lisbon"}', '--json', '--port', '0'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      status: 'SUCCESS',
      output: { greeting: 'Hello, Ada!', fact: 'Lisbon has more stories than any guidebook can hold.' },
    });
  });

  it('never overwrites: an existing file stops it before anything is written; --force replaces only template files', async () => {
    const dir = tempDir('init-existing');
    writeFileSync(join(dir, 'compozy.yaml'), 'name: mine\n');
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    const refused = await runCli(['init', dir, '--yes'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Nothing was written: compozy.yaml already exist(s)');
    expect(readFileSync(join(dir, 'compozy.yaml'), 'utf8')).toBe('name: mine\n');
    expect(existsSync(join(dir, 'entrypoint.ts'))).toBe(false);

    const forced = await runCli(['init', dir, '--yes', '--force', '--name', 'forced'], env);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, 'compozy.yaml'), 'utf8')).toMatch(/^name: forced$/m);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('sets up the chosen model, or the weather template, as valid projects', async () => {
    const groq = join(tempDir('init-groq'), 'g');
    expect((await runCli(['init', groq, '--yes', '--model', 'groq'], env)).code).toBe(0);
    expect(readFileSync(join(groq, 'workflows', 'greet.yaml'), 'utf8')).toContain('model: groq:llama-3.3-70b-versatile');
    expect(readFileSync(join(groq, 'compozy.yaml'), 'utf8')).toContain('api_key: "{{ .env.GROQ_API_KEY }}"');
    expect((await runCli(['config', 'validate', groq], env)).code).toBe(0);

    const weather = join(tempDir('init-weather'), 'trip');
    mkdirSync(weather);
    expect((await runCli(['init', weather, '--yes', '--template', 'weather'], env)).code).toBe(0);
    expect(readFileSync(join(weather, 'compozy.yaml'), 'utf8')).toMatch(/^name: trip$/m);
    expect(existsSync(join(weather, 'replay', 'weather.yaml'))).toBe(true);
    expect((await runCli(['config', 'validate', weather], env)).code).toBe(0);
  });

  it('refuses bad names, templates and models as usage errors', async () => {
    const dir = tempDir('init-bad');
    expect(await runCli(['init', dir, '--yes', '--name', '../evil'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('is not a valid project name') });
    expect(await runCli(['init', dir, '--yes', '--template', 'nope'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--template must be one of basic, weather') });
    expect(await runCli(['init', dir, '--yes', '--model', 'gpt5'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--model must be one of') });
    expect(existsSync(join(dir, 'compozy.yaml'))).toBe(false);
  });
});
