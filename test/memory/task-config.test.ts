import { describe, expect, it } from 'vitest';
import type { ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { writeFiles } from '../helpers/files.js';

const MEMORY = 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n';

function project(tasks: string) {
  return writeFiles({
    'compozy.yaml': 'name: memcfg\nworkflows:\n  - source: ./wf.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
    'memory/notes.yaml': MEMORY,
    'wf.yaml': `id: wf\ntools:\n  - id: echo\ntasks:\n${tasks}`,
  });
}

function problems(tasks: string): Array<{ line: number; key: string | undefined; message: string }> {
  try {
    loadValidProject(project(tasks));
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
    expect(text).toContain('belong to memory tasks');
  });

  it('write and append need a payload', () => {
    expect(problems(task('append')).map((p) => p.message)).toEqual([expect.stringContaining('has no payload')]);
  });
});
