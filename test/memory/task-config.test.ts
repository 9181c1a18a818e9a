import { describe, expect, it } from 'vitest';
import type { ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { workflowDef } from '../../src/engine/definition.js';
import type { MemoryTaskDef } from '../../src/engine/tasks/memory.js';
import { writeFiles } from '../helpers/files.js';

const MEMORY = 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n';

const BARE = 'resource: memory\nid: bare\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n';

function project(tasks: string, extra = '') {
  return writeFiles({
    'compozy.yaml': 'name: memcfg\nworkflows:\n  - source: ./wf.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
    'memory/notes.yaml': MEMORY,
    'memory/bare.yaml': BARE,
    'wf.yaml': `id: wf\ntools:\n  - id: echo\n${extra}tasks:\n${tasks}`,
  });
}

function problems(tasks: string, extra = ''): Array<{ line: number; key: string | undefined; message: string }> {
  try {
    loadValidProject(project(tasks, extra));
    return [];
  } catch (error) {
    const diagnostics = (error as { details?: { diagnostics?: ConfigDiagnostic[] } }).details?.diagnostics ?? [];
    return diagnostics.map((d) => ({ line: d.line, key: d.key, message: d.message }));
  }
}

const task = (operation: string, extra = '') => `  - id: m\n    type: memory\n    operation: ${operation}\n    memory_ref: notes\n    key_template: "user:*"\n${extra}`;

describe('memory task config', () => {
  it('parses batch_size, max_keys and the per-operation configs', () => {
    const config = loadValidProject(
      project(task('flush', '    batch_size: 10\n    max_keys: 20\n    flush_config: { strategy: simple_fifo, max_keys: 5, dry_run: true, force: true, threshold: 0.5 }\n')),
    );
    expect(config.workflows[0]?.tasks[0]?.memoryOptions).toEqual({ batchSize: 10, maxKeys: 20, flush: { strategy: 'simple_fifo', maxKeys: 5, dryRun: true, force: true, threshold: 0.5 } });
    const clear = loadValidProject(project(task('clear', '    clear_config: { confirm: true, backup: true }\n')));
    expect(clear.workflows[0]?.tasks[0]?.memoryOptions).toEqual({ clear: { confirm: true, backup: true } });
  });

  it('clear without clear_config.confirm: true is refused', () => {
    expect(problems(task('clear')).map((p) => p.message)).toEqual([expect.stringContaining('clear_config.confirm: true')]);
  });

  it('fields nothing honours, out-of-range numbers, unknown strategies and misplaced fields are refused, naming them', () => {
    const found = problems(
      task('health', '    batch_size: 0\n    health_config: { include_stats: true, check_connectivity: true }\n    stats_config: { group_by: role }\n    flush_config: { strategy: newest, threshold: 2 }\n') +
        '  - id: b\n    tool: echo\n    max_keys: 5\n',
    );
    const text = found.map((p) => `${p.key ?? ''} ${p.message}`).join('\n');
    expect(text).toContain('batch_size');
    expect(text).toContain('check_connectivity');
    expect(text).toContain('group_by');
    expect(text).toContain('Unknown flush strategy "newest"');
    expect(text).toContain('threshold');
    expect(text).toContain('Field "max_keys" is not valid on a basic task (task "b"); it belongs to memory tasks.');
  });

  it('a memory task without key_template uses the memory resource\'s key (reference §5.1: the default key template)', () => {
    const config = loadValidProject(project('  - id: recall\n    type: memory\n    operation: read\n    memory_ref: notes\n'));
    const def = workflowDef(config, config.workflows[0] as (typeof config.workflows)[number], 20);
    expect((def.tasks[0] as MemoryTaskDef).memory.keyTemplate).toBe('notes:{{ .workflow.input.user }}');
    const own = loadValidProject(project(task('read')));
    expect((workflowDef(own, own.workflows[0] as (typeof own.workflows)[number], 20).tasks[0] as MemoryTaskDef).memory.keyTemplate).toBe('user:*');
  });

  it('a memory task or an agent memory with no key anywhere is refused, naming the task or the agent', () => {
    expect(problems('  - id: recall\n    type: memory\n    operation: read\n    memory_ref: bare\n').map((p) => p.message)).toEqual([
      'Memory task "recall" has no key_template, and memory "bare" has no key to fall back on.',
    ]);
    expect(problems('  - id: t\n    tool: echo\n', 'agents:\n  - id: buddy\n    model: replay:x\n    memory:\n      - id: bare\n    actions:\n      - id: chat\n        prompt: hi\n').map((p) => p.message)).toEqual([
      'Agent "buddy" memory "bare" has no key, and the memory resource has no key to fall back on.',
    ]);
  });

  it('write and append need a payload', () => {
    expect(problems(task('append')).map((p) => p.message)).toEqual([expect.stringContaining('has no payload')]);
  });
});
