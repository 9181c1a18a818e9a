import { describe, expect, it } from 'vitest';
import { taskReads } from '../../src/engine/task-reads.js';
import { writeProject, TOOLS_YAML } from './harness.js';

const reads = (templates: unknown[], cel: string[] = []) => taskReads({ templates, cel });

describe('what a task’s templates read', () => {
  it('names the tasks of plain paths: .tasks.<id>, $.tasks.<id>, index .tasks "<id>", CEL tasks.<id> and tasks["<id>"]', () => {
    expect(reads(['{{ .tasks.a.output.x }} and {{ $.tasks.b-c.output }}'])).toEqual(['a', 'b-c']);
    expect(reads(['{{ index .tasks "get-weather" }}'])).toEqual(['get-weather']);
    expect(reads([{ nested: ['{{ printf "%.2f" .tasks.n.output.x }}'], '{{ .tasks.k.output }}': 1 }])).toEqual(['k', 'n']);
    expect(reads([], ['tasks.x.output.y == 1 && tasks["y-z"].status == "SUCCESS"'])).toEqual(['x', 'y-z']);
  });

  it('reads nothing from text outside template actions and from fields named tasks of something else', () => {
    expect(reads(['plain .tasks text', '{{ .workflow.input.tasks }}'], ['input.tasks.size() > 1'])).toEqual([]);
  });

  it('may read every task when .tasks (or the whole context) is used any other way', () => {
    for (const template of ['{{ range .tasks }}{{ end }}', '{{ if hasKey .tasks "step" }}{{ end }}', '{{ toJson . }}', '{{ $ }}', '{{ range .items }}{{ . }}{{ end }}']) {
      expect(reads([template]), template).toBeUndefined();
    }
    expect(reads([], ['size(tasks) > 1'])).toBeUndefined();
  });

  it('is compiled into each task definition: its with, outputs, transitions and its type’s own templates; agents read everything', () => {
    const project = writeProject({
      'workflows/w.yaml': `id: w\n${TOOLS_YAML}agents:\n  - id: helper\n    model: replay:script\n    instructions: hi\ntasks:
  - id: first
    tool: echo
    with: { a: "{{ .tasks.zero.output }}" }
    outputs: { b: "{{ .tasks.one.output }}" }
    on_success: { next: route, with: { c: "{{ .tasks.two.output }}" } }
  - id: route
    type: router
    condition: 'tasks.three.output.ok'
    routes: { "true": each, "false": ask }
  - id: each
    type: collection
    items: "{{ .tasks.four.output.list }}"
    filter: 'tasks.five.output.keep'
    task: { id: "c-{{ .tasks.six.output.prefix }}-{{ .index }}", tool: echo, with: { n: "{{ .item }}" } }
  - id: ask
    agent: helper
    prompt: "{{ .input }}"
`,
    });
    const tasks = project.workflows.get('w')?.tasks ?? [];
    expect(tasks.map((t) => [t.id, t.reads])).toEqual([
      ['first', ['one', 'two', 'zero']],
      ['route', ['three']],
      ['each', ['five', 'four', 'six']],
      ['ask', undefined],
    ]);
  });
});
