import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import type { TaskConfig } from '../../src/config/types.js';
import { validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

const FIXTURE = resolve('test', 'fixtures', 'compat', 'tasks-resources');

/** Load and validate diagnostics as `file:line:col: key: message`, file relative to the project. */
function problems(dir: string): string[] {
  const { project, diagnostics } = loadProjectConfig(dir);
  return [...diagnostics, ...(project ? validateProject(project) : [])].map((d) => `${d.file.slice(dir.length + 1)}:${d.line}:${d.col}: ${d.key}: ${d.message}`);
}

const project = (files: Record<string, string>) =>
  writeFiles({
    'compozy.yaml': 'name: p\nworkflows:\n  - source: ./w.yaml\nautoload:\n  enabled: true\n  include: ["tasks/*.yaml"]\n',
    ...files,
  });

describe('task resources (resource: task)', () => {
  it('the fixture loads without a diagnostic; each reference is the resource task with the site fields over it', () => {
    expect(problems(FIXTURE)).toEqual([]);
    const loaded = loadProjectConfig(FIXTURE).project;
    const tasks = loaded?.workflows[0]?.tasks ?? [];
    const [first, second, summary] = tasks as [TaskConfig, TaskConfig, TaskConfig];
    expect(first).toMatchObject({ id: 'first', type: 'basic', tool: 'format_text', with: { text: '{{ .workflow.input.text }}', mode: 'lower' }, outputs: { text: '{{ .output.text }}' }, onSuccess: { next: 'second' } });
    expect(second).toMatchObject({ id: 'second', type: 'basic', tool: 'format_text', with: { suffix: '!' }, onSuccess: { next: 'summary' } });
    expect(summary).toMatchObject({ id: 'summary', type: 'composite', final: true });
    expect(summary.type === 'composite' && summary.tasks.map((t) => [t.id, t.type, t.with.mode])).toEqual([['report_text', 'basic', 'title'], ['report_count', 'basic', undefined]]);
    // The project's task resources by id, as read from their files (for direct task executions).
    expect(loaded?.tasks.map((t) => t.id).sort()).toEqual(['normalize', 'report', 'shout', 'tag']);
    expect(loaded?.tasks.find((t) => t.id === 'normalize')?.with).toEqual({ text: '{{ .workflow.input.text }}', mode: 'upper' });
  });

  it("a task resource file is checked with the per-type field rules, at its own file:line:col", () => {
    const dir = project({
      'tasks/wait.yaml': 'resource: task\nid: hold\ntype: wait\nwait_for: go\ncondition: "true"\ntool: echo\n',
      'w.yaml': 'id: w\ntasks:\n  - id: a\n    task: hold\n',
    });
    expect(problems(dir)).toContain('tasks/wait.yaml:6:1: tool: Field "tool" is not valid on a wait task (task "hold"); it belongs to basic tasks.');
  });

  it('a reference to a task resource that does not exist names it, with the likely one', () => {
    const dir = project({
      'tasks/normalize.yaml': 'resource: task\nid: normalize\ntype: aggregate\noutputs:\n  x: 1\n',
      'w.yaml': 'id: w\ntasks:\n  - id: a\n    task: normalise\n  - id: b\n    $use: task(local::tasks.#(id=="nope"))\n',
    });
    const found = problems(dir);
    expect(found).toContain('w.yaml:4:5: tasks[0].task: Task resource "normalise" does not exist.');
    expect(found).toContain('w.yaml:6:5: tasks[1].$use: Task resource "nope" does not exist.');
  });

  it('a reference site takes only its id, with, env, outputs, transitions, final and sleep', () => {
    const dir = project({
      'tasks/normalize.yaml': 'resource: task\nid: normalize\ntype: aggregate\noutputs:\n  x: 1\n',
      'w.yaml': 'id: w\ntasks:\n  - id: a\n    task: normalize\n    tool: other\n',
    });
    expect(problems(dir)).toContain('w.yaml:5:5: tasks[0].tool: A task that uses task resource "normalize" takes no "tool"; the resource defines the task.');
  });

  it('a task resource that uses itself, directly or through another, is refused', () => {
    const dir = project({
      'tasks/a.yaml': 'resource: task\nid: a\ntype: composite\ntasks:\n  - id: inner\n    task: b\n',
      'tasks/b.yaml': 'resource: task\nid: b\ntype: composite\ntasks:\n  - id: again\n    task: a\n',
      'w.yaml': 'id: w\ntasks:\n  - id: start\n    task: a\n',
    });
    expect(problems(dir).filter((p) => p.includes('leads back'))).toEqual([
      'tasks/a.yaml:6:5: tasks[0].task: Task resource "a" uses task resource "b", which leads back to it.',
      'tasks/b.yaml:6:5: tasks[0].task: Task resource "b" uses task resource "a", which leads back to it.',
    ]);
  });

  it("resources.tasks: the file must exist, be a task resource and define the id the entry names", () => {
    const dir = project({
      'mem.yaml': 'resource: memory\nid: m\ntype: buffer\n',
      'other.yaml': 'resource: task\nid: other\ntype: aggregate\noutputs:\n  x: 1\n',
      'w.yaml': 'id: w\nresources:\n  tasks:\n    - id: gone\n      source: ./gone.yaml\n    - id: m\n      source: ./mem.yaml\n    - id: mine\n      source: ./other.yaml\ntasks:\n  - id: a\n    type: aggregate\n    outputs:\n      x: 1\n',
    });
    const found = problems(dir);
    expect(found.some((p) => p.startsWith('w.yaml:5:7: resources.tasks[0].source: Task resource file ./gone.yaml does not exist'))).toBe(true);
    expect(found).toContain('mem.yaml:1:1: resource: ./mem.yaml is a "memory" resource; resources.tasks needs resource: task.');
    expect(found).toContain('w.yaml:8:7: resources.tasks[2].id: resources.tasks names "mine" but ./other.yaml defines task "other".');
  });

  it('a task resource no workflow uses is still checked as the task it is, naming what it names among the project and every workflow', () => {
    const dir = project({
      'tasks/hold.yaml': 'resource: task\nid: hold\ntype: wait\ncondition: "true"\n',
      'tasks/call.yaml': 'resource: task\nid: call\ntype: basic\ntool: echo\non_success:\n  next: after\n',
      'tasks/typo.yaml': 'resource: task\nid: typo\ntype: basic\ntool: ecko\n',
      'w.yaml': 'id: w\ntools:\n  - id: echo\ntasks:\n  - id: after\n    task: typo\n',
    });
    const found = problems(dir);
    expect(found).toContain('tasks/hold.yaml:1:1: : Wait task "hold" has no wait_for.');
    // typo is used by w and checked there; the same diagnostic is not repeated.
    expect(found.filter((p) => p.includes('Tool "ecko" does not exist'))).toEqual(['tasks/typo.yaml:4:1: tool: Tool "ecko" does not exist.']);
    expect(found.some((p) => p.startsWith('tasks/call.yaml'))).toBe(false);
  });

  it('two autoloaded task resources with one id are refused', () => {
    const dir = project({
      'tasks/a.yaml': 'resource: task\nid: same\ntype: aggregate\noutputs:\n  x: 1\n',
      'tasks/b.yaml': 'resource: task\nid: same\ntype: aggregate\noutputs:\n  x: 2\n',
      'w.yaml': 'id: w\ntasks:\n  - id: a\n    task: same\n',
    });
    expect(problems(dir).some((p) => p.startsWith('tasks/b.yaml:2:1: id: Duplicate task resource id "same" (first defined at ') && p.endsWith('tasks/a.yaml:2:1).'))).toBe(true);
  });
});
