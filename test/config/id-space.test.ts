import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

const PROJECT = 'name: ids\nworkflows:\n  - source: ./a.yaml\n  - source: ./b.yaml\n';

function problems(files: Record<string, string>): string[] {
  const dir = writeFiles({ 'compozy.yaml': PROJECT, ...files });
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.key}: ${d.message.replaceAll(`${dir}/`, '')}`);
}

const workflow = (id: string, tools: string, tasks = `tasks:\n  - id: run\n    tool: save\n`) => `id: ${id}\ntools:\n${tools}${tasks}`;

describe('tools and agents share one id space across the project', () => {
  it('two workflows defining one tool id with different env: the second is refused where it is written', () => {
    expect(
      problems({
        'a.yaml': workflow('a', '  - id: save\n    env: { TARGET: one }\n'),
        'b.yaml': workflow('b', '  - id: save\n    env: { TARGET: two }\n'),
      }),
    ).toEqual([
      'b.yaml:3:5 tools[0].id: The tool "save" is defined again with other settings (first at a.yaml:3:5); tools share one id space across the project, so one definition would replace the other in every workflow.',
    ]);
  });

  it('the same definition in two workflows is fine', () => {
    expect(
      problems({
        'a.yaml': workflow('a', '  - id: save\n    env: { TARGET: one }\n'),
        'b.yaml': workflow('b', '  - id: save\n    env: { TARGET: one }\n'),
      }),
    ).toEqual([]);
  });

  it('two workflows defining one agent id two ways are refused too', () => {
    const agent = (instructions: string) => `id: wf\nagents:\n  - id: helper\n    model: openai:gpt-4o\n    instructions: ${instructions}\ntasks:\n  - id: ask\n    agent: helper\n    prompt: hi\n`;
    expect(problems({ 'a.yaml': agent('be brief').replace('id: wf', 'id: a'), 'b.yaml': agent('be verbose').replace('id: wf', 'id: b') })).toEqual([
      'b.yaml:3:5 agents[0].id: The agent "helper" is defined again with other settings (first at a.yaml:3:5); agents share one id space across the project, so one definition would replace the other in every workflow.',
    ]);
  });
});
