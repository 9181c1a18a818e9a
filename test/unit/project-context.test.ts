import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_DIR } from '../../src/config/project.js';
import { resolveProject, resolveRunTarget } from '../../src/cli/project-context.js';
import { CompozyError } from '../../src/errors.js';
import { tempDir } from '../helpers/fake-bin.js';

function failure(run: () => unknown): CompozyError {
  try {
    run();
  } catch (error) {
    if (error instanceof CompozyError) return error;
    throw error;
  }
  throw new Error('expected a CompozyError');
}

function projectIn(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'compozy.yaml'), `name: ${name}\n`);
  return dir;
}

describe('project arguments', () => {
  it('suggests the nearest example for a mistyped name', () => {
    const error = failure(() => resolveProject('weathr', tempDir('cwd')));
    expect(error.code).toBe('PROJECT_NOT_FOUND');
    expect(error.message).toContain('no example named "weathr"');
    expect(error.hint).toContain('Did you mean "weather"?');
  });

  it('suggests the nearest project folder of the current one', () => {
    const cwd = tempDir('cwd');
    projectIn(cwd, 'billing');
    expect(failure(() => resolveProject('biling', cwd)).hint).toContain('Did you mean "billing"?');
  });

  it('names no guess when nothing is close', () => {
    expect(failure(() => resolveProject('zzzzzzzz', tempDir('cwd'))).hint).not.toContain('Did you mean');
  });

  it('a folder wins over an example of the same name', () => {
    const cwd = tempDir('cwd');
    expect(resolveProject('weather', cwd)).toBe(join(EXAMPLES_DIR, 'weather'));
    const own = projectIn(cwd, 'weather');
    expect(resolveProject('weather', cwd)).toBe(own);
  });

  it('runs an example in place in a source checkout (not under node_modules)', () => {
    const lines: string[] = [];
    expect(resolveProject('weather', tempDir('cwd'), (line) => lines.push(line))).toBe(join(EXAMPLES_DIR, 'weather'));
    expect(lines).toEqual([]);
  });
});

describe('compozy run <name> outside a project', () => {
  it('runs the example workflow of the same name, and says so', () => {
    const lines: string[] = [];
    const cwd = tempDir('cwd');
    expect(resolveRunTarget('weather', undefined, cwd, (line) => lines.push(line))).toEqual({ workflowId: 'weather', projectArg: 'weather' });
    expect(lines.join('\n')).toContain('compozy run weather weather');
  });

  it('runs a project folder of that name the same way', () => {
    const cwd = tempDir('cwd');
    projectIn(cwd, 'demo');
    expect(resolveRunTarget('demo', undefined, cwd, () => {})).toEqual({ workflowId: 'demo', projectArg: 'demo' });
  });

  it('keeps the workflow of the current project when the current folder is one', () => {
    const cwd = projectIn(tempDir('cwd'), 'app');
    expect(resolveRunTarget('weather', undefined, cwd, () => {})).toEqual({ workflowId: 'weather', projectArg: undefined });
  });

  it('keeps an explicit project', () => {
    expect(resolveRunTarget('weather', 'elsewhere', tempDir('cwd'), () => {})).toEqual({ workflowId: 'weather', projectArg: 'elsewhere' });
  });
});
