import { describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/server/events.js';
import { isReloadNotice } from '../../src/supervisor/serve-report.js';

describe("serve's reload line, which compozy dev shows the health table again on", () => {
  it('is told from the other lines serve prints', () => {
    const reloaded = describeEvent({ event: 'reload', files: ['hello.yaml'], durationMs: 412, workflows: 1, agents: 0, tools: 2, unapplied: ['runtime.pool_size'] });
    expect(reloaded).toBe('↻ reloaded in 412 ms (hello.yaml changed): 1 workflow, 0 agents, 2 tools; new executions use it, running ones finish on theirs\n  ! restart to apply the changed settings: runtime.pool_size');
    expect(isReloadNotice(reloaded.split('\n')[0] as string)).toBe(true);
    const refused = describeEvent({ event: 'reload-failed', files: ['hello.yaml'], message: 'The project has a configuration problem', diagnostics: [] });
    for (const line of [...refused.split('\n'), ...reloaded.split('\n').slice(1), describeEvent({ event: 'log', message: 'worker polling' })]) expect(isReloadNotice(line)).toBe(false);
  });
});
