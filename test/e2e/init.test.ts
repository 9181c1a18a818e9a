import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';
import { runCliAtTerminal } from '../helpers/pty.js';

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
      files: ['.gitignore', 'api.http', 'compozy.yaml', 'entrypoint.ts', 'package.json', 'replay/default.yaml', 'workflows/greet.yaml'],
    });
    expect(readFileSync(join(dir, 'compozy.yaml'), 'utf8')).toMatch(/^name: hello-app$/m);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('.compozy/');
    const run = await runCli(['run', 'greet', dir, '--input', '{"name":"Ada","city":"Lisbon"}', '--json', '--port', '0'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      status: 'SUCCESS',
      output: { greeting: 'Hello, Ada!', fact: 'Lisbon has more stories than any guidebook can hold.' },
    });
  }, 120_000);

  it('never overwrites: an existing file stops it before anything is written; --force replaces only template files', async () => {
    const dir = tempDir('init-existing');
    writeFileSync(join(dir, 'compozy.yaml'), 'name: mine\n');
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    const refused = await runCli(['init', dir, '--yes'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`Nothing was written: compozy.yaml already exists in ${dir}.`);
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
  it('init <name> creates <name>/ whose first run succeeds under a parent package.json of type commonjs (npm init -y)', async () => {
    const parent = tempDir('init-cjs');
    writeFileSync(join(parent, 'package.json'), JSON.stringify({ name: 'parent', version: '1.0.0', type: 'commonjs' }));
    const created = await runCli(['init', 'demo', '--yes'], env, parent);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Created demo (basic) in ${join(parent, 'demo')}`);
    expect(created.stdout).toContain(`compozy run greet demo --input '{"name":"Ada","city":"Lisbon"}'`);
    expect(JSON.parse(readFileSync(join(parent, 'demo', 'package.json'), 'utf8'))).toMatchObject({ name: 'demo', private: true, type: 'module' });
    const run = await runCli(['run', 'greet', 'demo', '--input', '{"name":"Ada","city":"Lisbon"}', '--json', '--port', '0'], env, parent);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ status: 'SUCCESS', output: { greeting: 'Hello, Ada!' } });

    const weather = await runCli(['init', 'trip', '--yes', '--template', 'weather', '--json'], env, parent);
    expect(weather.code).toBe(0);
    expect(JSON.parse(weather.stdout).files).toEqual(expect.arrayContaining(['.gitignore', 'package.json', 'workflow.yaml', 'entrypoint.ts']));
    expect(readFileSync(join(parent, 'trip', '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['.compozy/', '.env', 'results.json', 'results.txt']));
    expect(readFileSync(join(parent, 'trip', 'workflow.yaml'), 'utf8')).toMatch(/^ {4}model: replay:weather$/m);
    const tripRun = await runCli(['run', 'weather', 'trip', '--input', '{"city":"Lisbon"}', '--json', '--port', '0'], env, parent);
    expect(tripRun.code, tripRun.stderr).toBe(0);
    expect(JSON.parse(tripRun.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ status: 'SUCCESS' });
    expect(existsSync(join(parent, 'trip', 'results.json'))).toBe(true);
  }, 120_000);

  it('init . writes here; a package.json already here must say "type": "module", and --force sets only that', async () => {
    const dir = tempDir('init-here');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'mine', version: '1.0.0', scripts: { test: 'true' } }));
    writeFileSync(join(dir, '.gitignore'), 'dist\n');
    const refused = await runCli(['init', '.', '--yes'], env, dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`Nothing was written: package.json, .gitignore already exist in ${dir}.`);
    expect(existsSync(join(dir, 'compozy.yaml'))).toBe(false);

    const forced = await runCli(['init', '.', '--yes', '--force', '--json'], env, dir);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ dir, name: basename(dir) });
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toEqual({ name: 'mine', version: '1.0.0', scripts: { test: 'true' }, type: 'module' });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('dist\n.compozy/\n.env\nnode_modules/\n');

    const module = tempDir('init-module');
    writeFileSync(join(module, 'package.json'), JSON.stringify({ name: 'esm', type: 'module' }));
    const kept = await runCli(['init', '.', '--yes', '--json'], env, module);
    expect(kept.code).toBe(0);
    expect(JSON.parse(kept.stdout).files).not.toContain('package.json');
    expect(JSON.parse(readFileSync(join(module, 'package.json'), 'utf8'))).toEqual({ name: 'esm', type: 'module' });
  });

  it('at a terminal the typed name is the folder, and every template asks for the model (weather too)', async () => {
    const parent = tempDir('init-tty');
    const basic = await runCliAtTerminal(
      ['init'],
      [
        { expect: 'Project name', send: 'demo\r' },
        { expect: 'Template', send: '\r' },
        { expect: "The agent's model", send: '\x1b[B\r' },
      ],
      {},
      parent,
    );
    expect(basic.code, basic.output).toBe(0);
    expect(readFileSync(join(parent, 'demo', 'compozy.yaml'), 'utf8')).toMatch(/^name: demo$/m);
    expect(readFileSync(join(parent, 'demo', 'workflows', 'greet.yaml'), 'utf8')).toContain('model: groq:llama-3.3-70b-versatile');
    expect(existsSync(join(parent, 'compozy.yaml'))).toBe(false);

    const weather = await runCliAtTerminal(
      ['init', 'trip'],
      [
        { expect: 'Template', send: '\x1b[B\r' },
        { expect: "The agent's model", send: '\r' },
      ],
      {},
      parent,
    );
    expect(weather.code, weather.output).toBe(0);
    expect(weather.output).not.toContain('Project name');
    expect(readFileSync(join(parent, 'trip', 'workflow.yaml'), 'utf8')).toMatch(/^ {4}model: replay:weather$/m);
  });

  it('Ctrl-C at a prompt prints "Cancelled", exits 130 and writes nothing', async () => {
    const parent = tempDir('init-cancel');
    const cancelled = await runCliAtTerminal(['init'], [{ expect: 'Project name', send: 'demo\r' }, { expect: 'Template', send: '\x03' }], {}, parent);
    expect(cancelled.code).toBe(130);
    expect(cancelled.output).toContain('Cancelled');
    expect(existsSync(join(parent, 'demo'))).toBe(false);
  });
});
