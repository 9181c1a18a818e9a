import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import type { AgentConfig } from '../../src/config/types.js';
import type { ChildRequest, NativeCalls } from '../../src/tools/native/calls.js';
import { nativeToolSpecs } from '../../src/tools/native/index.js';
import { writeFiles } from '../helpers/files.js';
import { config, failure, tools } from '../helpers/native-tools.js';

function agent(id: string, actions: Array<{ id: string; prompt: string }>): AgentConfig {
  return { id, tools: [], mcps: [], mcpRefs: [], actions: actions.map((a) => ({ ...a, jsonMode: false })), memory: [], jsonMode: false } as unknown as AgentConfig;
}

const AGENTS = [agent('writer', [{ id: 'draft', prompt: 'Write a draft about {{ .input.topic }}' }, { id: 'polish', prompt: '' }]), agent('bare', []), agent('analyst', [{ id: 'score', prompt: 'Score it' }])];

describe('cp__list_agents and cp__describe_agent', () => {
  const { dir, native } = config('    enabled: true\n');
  const t = tools(native, dir, { agents: AGENTS });

  it('lists every agent sorted by id with its action ids (none: no actions key)', async () => {
    expect(await t.call('cp__list_agents', {})).toEqual({ agents: [{ agent_id: 'analyst', actions: ['score'] }, { agent_id: 'bare' }, { agent_id: 'writer', actions: ['draft', 'polish'] }] });
  });

  it('describes an agent: its actions with their prompts; an unknown agent is InvalidArgument', async () => {
    expect(await t.call('cp__describe_agent', { agent_id: 'writer' })).toEqual({ agent_id: 'writer', actions: [{ id: 'draft', prompt: 'Write a draft about {{ .input.topic }}' }, { id: 'polish' }] });
    expect(await t.call('cp__describe_agent', { agent_id: 'bare' })).toEqual({ agent_id: 'bare' });
    expect(await failure(t.call('cp__describe_agent', { agent_id: 'ghost' }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'InvalidArgument', message: 'cp__describe_agent: agent not found: "ghost"' });
    expect(await failure(t.call('cp__describe_agent', { agent_id: '' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__describe_agent', {}))).toMatchObject({ code: 'TOOL_INPUT_INVALID' });
  });
});

/** An engine that answers agent calls: "fail" ends FAILED, "slow" does not end in time, the rest echo their request. */
function fakeEngine(): NativeCalls & { requests: Array<{ request: ChildRequest; timeoutMs: number }>; peak: number } {
  let running = 0;
  const engine = {
    requests: [] as Array<{ request: ChildRequest; timeoutMs: number }>,
    peak: 0,
    async run(request: ChildRequest, timeoutMs: number) {
      engine.requests.push({ request, timeoutMs });
      running++;
      engine.peak = Math.max(engine.peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      const n = engine.requests.length;
      if (request.kind !== 'agent') throw new Error('only agents');
      if (request.agentId === 'fail') return { execId: `exec-${n}`, ended: true, status: 'FAILED', error: { code: 'TASK_FAILED', message: 'the model said no' } };
      if (request.agentId === 'slow') return { execId: `exec-${n}`, ended: false, status: 'RUNNING' };
      return { execId: `exec-${n}`, ended: true, status: 'SUCCESS', output: { agent: request.agentId, action: request.actionId ?? null, with: request.with ?? null } };
    },
  };
  return engine;
}

const step = (id: string, agentId: string, extra: Record<string, unknown> = {}) => ({ id, type: 'agent', status: 'pending', agent: { agent_id: agentId, action_id: 'go', ...extra } });

describe('cp__agent_orchestrate', () => {
  function orchestrator(yaml = '    enabled: true\n') {
    const { dir, native } = config(yaml);
    const engine = fakeEngine();
    return { engine, t: tools(native, dir, { calls: engine }) };
  }

  it('runs agent steps in order and a parallel step at once, binding outputs under result_key', async () => {
    const { engine, t } = orchestrator();
    const result = await t.call('cp__agent_orchestrate', {
      plan: {
        bindings: { topic: 'tides' },
        steps: [
          step('first', 'writer', { with: { topic: 'tides' }, result_key: 'draft' }),
          { id: 'fan', type: 'parallel', status: 'pending', parallel: { result_key: 'reviews', steps: [{ agent_id: 'analyst', prompt: 'score', result_key: 'score' }, { agent_id: 'writer', action_id: 'polish' }] } },
        ],
      },
      bindings: { reader: 'kids' },
    });
    expect(result).toMatchObject({
      success: true,
      steps: [
        { id: 'first', type: 'agent', status: 'success', exec_id: 'exec-1', output: { agent: 'writer', action: 'go', with: { topic: 'tides' } } },
        { id: 'fan', type: 'parallel', status: 'success', children: [{ id: 'fan[0]', type: 'agent', status: 'success', output: { agent: 'analyst' } }, { id: 'fan[1]', type: 'agent', status: 'success', output: { agent: 'writer', action: 'polish' } }] },
      ],
    });
    expect(result.errors).toBeUndefined();
    expect(result.bindings).toEqual({
      topic: 'tides',
      reader: 'kids',
      draft: { agent: 'writer', action: 'go', with: { topic: 'tides' } },
      score: { agent: 'analyst', action: null, with: null },
      reviews: { score: { agent: 'analyst', action: null, with: null } },
    });
    expect(engine.requests.map((r) => r.request)).toEqual([
      { kind: 'agent', agentId: 'writer', actionId: 'go', with: { topic: 'tides' } },
      { kind: 'agent', agentId: 'analyst', prompt: 'score' },
      { kind: 'agent', agentId: 'writer', actionId: 'polish' },
    ]);
    expect(engine.peak).toBe(2);
    expect(engine.requests.every((r) => r.timeoutMs === 60_000)).toBe(true);
  });

  it('the first failing step ends the plan with success: false and its error; later steps never run', async () => {
    const { engine, t } = orchestrator();
    const result = await t.call('cp__agent_orchestrate', { plan: { steps: [step('a', 'writer'), step('b', 'fail'), step('c', 'writer')] } });
    expect(result.success).toBe(false);
    expect((result.steps as Array<{ id: string; status: string }>).map((s) => [s.id, s.status])).toEqual([['a', 'success'], ['b', 'failed']]);
    expect(result.errors).toEqual([{ step_id: 'b', error: 'cp__agent_orchestrate: agent "fail" ended FAILED (TASK_FAILED: the model said no).' }, { error: 'step "b" ended failed' }]);
    expect(engine.requests).toHaveLength(2);
  });

  it('a parallel step with a failure is partial and ends the plan; a step that does not end in time fails with its timeout', async () => {
    const { t } = orchestrator();
    const result = await t.call('cp__agent_orchestrate', {
      plan: { steps: [{ id: 'p', type: 'parallel', status: 'pending', parallel: { steps: [{ agent_id: 'writer', action_id: 'go' }, { agent_id: 'slow', action_id: 'go', timeout_ms: 50 }] } }, step('after', 'writer')] },
    });
    expect(result.success).toBe(false);
    expect(result.steps).toMatchObject([{ id: 'p', status: 'partial', children: [{ status: 'success' }, { id: 'p[1]', status: 'failed' }] }]);
    expect(result.errors).toContainEqual({ step_id: 'p[1]', error: expect.stringContaining('did not finish within 50 ms') });
  });

  it('max_parallel and timeout_ms of the call only lower the configured limits; max_concurrency lowers a step', async () => {
    const { engine, t } = orchestrator('    agent_orchestrator:\n      max_parallel: 3\n      default_timeout: 20s\n');
    const fan = (n: number, extra: Record<string, unknown> = {}) => ({ id: `f${n}`, type: 'parallel', status: 'pending', parallel: { ...extra, steps: Array.from({ length: 5 }, () => ({ agent_id: 'writer', action_id: 'go' })) } });
    await t.call('cp__agent_orchestrate', { plan: { steps: [fan(1)] } });
    expect(engine.peak).toBe(3);
    expect(engine.requests[0]?.timeoutMs).toBe(20_000);
    const second = orchestrator('    agent_orchestrator:\n      max_parallel: 3\n      default_timeout: 20s\n');
    await second.t.call('cp__agent_orchestrate', { plan: { steps: [fan(2)] }, max_parallel: 10, timeout_ms: 1_000 });
    expect(second.engine.peak).toBe(3);
    expect(second.engine.requests[0]?.timeoutMs).toBe(1_000);
    const third = orchestrator();
    await third.t.call('cp__agent_orchestrate', { plan: { steps: [fan(3, { max_concurrency: 1 })] }, max_parallel: 2 });
    expect(third.engine.peak).toBe(1);
  });

  it('refuses an invalid plan with every problem named by its path, and runs nothing', async () => {
    const { engine, t } = orchestrator();
    const bad = await failure(
      t.call('cp__agent_orchestrate', {
        plan: {
          steps: [
            { id: 'a', type: 'agent', agent: { agent_id: 'writer', result_key: 'k' } },
            { id: 'a', type: 'agent', status: 'pending', agent: { agent_id: 'writer', result_key: 'k' }, transitions: { default_next_step: 'zzz' } },
            { id: 'p', type: 'parallel', status: 'pending', parallel: { steps: [], merge_strategy: 'first_success' } },
            { id: 'bad id', type: 'agent', status: 'pending', agent: {} },
          ],
        },
      }),
    );
    expect(bad).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'InvalidArgument' });
    for (const problem of ['steps[0].status is required', 'steps[1].id duplicates steps[0].id', 'steps[1] uses result_key "k" already used by steps[0]', 'steps[1].transitions is not honoured: steps run in the order given', 'steps[2].parallel.merge_strategy is not honoured', 'steps[2].parallel.steps must contain at least one agent step', 'steps[3].id must match', 'steps[3].agent.agent_id is required']) {
      expect(bad.message).toContain(problem);
    }
    expect(await failure(t.call('cp__agent_orchestrate', { plan: { steps: [{ id: 'l', type: 'loop', status: 'pending' }] } }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', message: expect.stringContaining('/plan/steps/0/type') });
    expect(await failure(t.call('cp__agent_orchestrate', { plan: { steps: Array.from({ length: 13 }, (_, i) => step(`s${i}`, 'writer')) } }))).toMatchObject({ message: expect.stringContaining('plan has 13 steps, exceeds 12') });
    expect(engine.requests).toHaveLength(0);
  });

  it('max_steps over the plan is a failed plan, not a tool error', async () => {
    const { engine, t } = orchestrator('    agent_orchestrator:\n      max_steps: 1\n');
    expect(await t.call('cp__agent_orchestrate', { plan: { steps: [step('a', 'writer'), step('b', 'writer')] } })).toEqual({ success: false, steps: [], errors: [{ error: 'agent orchestrator maximum steps exceeded (2 > 1)' }] });
    expect(engine.requests).toHaveLength(0);
  });

  it('a prompt without a plan is refused: the planner is not implemented (or disabled); plan and prompt together break the schema', async () => {
    const { t } = orchestrator();
    expect(await failure(t.call('cp__agent_orchestrate', { prompt: 'review the repo' }))).toMatchObject({ go: 'InvalidArgument', message: expect.stringContaining('the LLM planner) is not implemented') });
    expect(await failure(t.call('cp__agent_orchestrate', { prompt: 'review the repo', disable_planner: true }))).toMatchObject({ message: 'cp__agent_orchestrate: planner disabled for prompt input' });
    expect(await failure(t.call('cp__agent_orchestrate', { prompt: 'x', plan: { steps: [step('a', 'writer')] } }))).toMatchObject({ code: 'TOOL_INPUT_INVALID' });
    expect(await failure(t.call('cp__agent_orchestrate', {}))).toMatchObject({ code: 'TOOL_INPUT_INVALID' });
  });

  it('agent_orchestrator.enabled: false removes the tool; max_depth and unknown fields are diagnostics', () => {
    const { native } = config('    agent_orchestrator:\n      enabled: false\n');
    expect(nativeToolSpecs(native).map((s) => s.id)).not.toContain('cp__agent_orchestrate');
    const dir = writeFiles({ 'compozy.yaml': 'name: n\nruntime:\n  native_tools:\n    agent_orchestrator:\n      max_depth: 2\n      planner:\n        max_step: 3\n' });
    expect(loadProjectConfig(dir).diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      expect.stringMatching(/^5:7 .*max_depth.*/),
      '7:9 Unknown native_tools.agent_orchestrator.planner field "max_step".',
    ]);
  });
});
