import { describe, expect, it } from 'vitest';
import { projectArgument } from '../../src/platform/project-argument.js';

describe('projectArgument', () => {
  it('is empty for the current folder, else the path from it, quoted when the shell needs it', () => {
    expect(projectArgument('/work/app', '/work/app')).toBe('');
    expect(projectArgument('/work/app/demo', '/work/app')).toBe(' demo');
    expect(projectArgument('/work/other', '/work/app')).toBe(' ../other');
    expect(projectArgument("/work/app/my app's", '/work/app')).toBe(` 'my app'\\''s'`);
  });
});
