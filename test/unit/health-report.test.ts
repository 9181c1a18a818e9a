import { describe, expect, it } from 'vitest';
import type { ComponentHealth } from '../../src/health.js';
import { healthReport, workerState, type HealthProbes } from '../../src/server/health-report.js';

const kv: ComponentHealth = { name: 'kv', backend: 'sqlite', state: 'up', path: '/p/.compozy/kv.db', detail: '0 keys' };

function probes(overrides: Partial<HealthProbes> = {}): HealthProbes {
  return {
    mode: 'standalone',
    project: 'weather',
    temporal: { backend: 'embedded dev server (CLI 1.5.1)', address: '127.0.0.1:7233', namespace: { ok: true, detail: 'namespace default' } },
    api: { url: 'http://127.0.0.1:5001', pid: 202 },
    worker: { kind: 'in-process', pid: 202, taskQueue: 'compozy', state: 'RUNNING', failure: undefined },
    backends: [kv],
    ...overrides,
  };
}

describe('health report', () => {
  it('is temporal, api, worker, then the backends in their order; up when all are', () => {
    const report = healthReport(probes());
    expect(report).toEqual({
      mode: 'standalone',
      project: 'weather',
      status: 'up',
      components: [
        { name: 'temporal', backend: 'embedded dev server (CLI 1.5.1)', state: 'up', address: '127.0.0.1:7233', detail: 'namespace default' },
        { name: 'api', backend: 'fastify', state: 'up', address: 'http://127.0.0.1:5001', pid: 202 },
        { name: 'worker', backend: 'in-process', state: 'up', pid: 202, detail: 'task queue compozy' },
        kv,
      ],
    });
  });

  it('carries what the supervisor recorded: temporal pid, restarts and last exit code on temporal, api and worker', () => {
    const report = healthReport(
      probes({
        temporal: { backend: 'embedded dev server', address: '127.0.0.1:7233', namespace: { ok: true, detail: 'namespace default' }, child: { pid: 101, restarts: 0 } },
        api: { url: 'http://127.0.0.1:5001', pid: 202, child: { pid: 202, restarts: 2, lastExitCode: 137 } },
      }),
    );
    expect(report.components.slice(0, 3)).toEqual([
      { name: 'temporal', backend: 'embedded dev server', state: 'up', address: '127.0.0.1:7233', pid: 101, restarts: 0, detail: 'namespace default' },
      { name: 'api', backend: 'fastify', state: 'up', address: 'http://127.0.0.1:5001', pid: 202, restarts: 2, lastExitCode: 137 },
      { name: 'worker', backend: 'in-process', state: 'up', pid: 202, restarts: 2, lastExitCode: 137, detail: 'task queue compozy' },
    ]);
  });

  it('while the in-process worker connects, temporal and worker are starting', () => {
    const report = healthReport(probes({ temporal: { backend: 'external', address: 'h:7233', namespace: undefined }, worker: { kind: 'in-process', pid: 1, taskQueue: 'q', state: undefined, failure: undefined } }));
    expect(report.status).toBe('starting');
    expect(report.components[0]).toMatchObject({ state: 'starting', detail: 'connecting' });
    expect(report.components[2]).toMatchObject({ state: 'starting', detail: 'task queue q' });
  });

  it('a worker that failed to connect is down with its reason, and so is temporal', () => {
    const failure = 'Temporal at h:7233 is not reachable (connection refused).';
    const report = healthReport(probes({ temporal: { backend: 'external', address: 'h:7233', namespace: undefined }, worker: { kind: 'in-process', pid: 1, taskQueue: 'q', state: undefined, failure } }));
    expect(report.status).toBe('down');
    expect(report.components[0]).toMatchObject({ state: 'down', detail: 'not connected' });
    expect(report.components[2]).toMatchObject({ state: 'down', detail: failure });
  });

  it('a namespace check that fails is temporal down with its reason', () => {
    const report = healthReport(probes({ temporal: { backend: 'external', address: 'h:7233', namespace: { ok: false, detail: '5 NOT_FOUND: namespace nope' } } }));
    expect(report.components[0]).toMatchObject({ state: 'down', detail: '5 NOT_FOUND: namespace nope' });
  });

  it('without an in-process worker, the worker row says whether some compozy worker polls the task queue', () => {
    const polled = healthReport(probes({ worker: { kind: 'external', taskQueue: 'q', polled: true } }));
    expect(polled.components[2]).toEqual({ name: 'worker', backend: 'compozy worker', state: 'up', detail: 'task queue q is polled' });
    const none = healthReport(probes({ worker: { kind: 'external', taskQueue: 'q', polled: false } }));
    expect(none.components[2]).toEqual({ name: 'worker', backend: 'compozy worker', state: 'down', detail: 'no worker polls task queue q' });
    expect(none.status).toBe('down');
  });

  it("maps the SDK's worker states", () => {
    expect(workerState('INITIALIZED', undefined)).toBe('starting');
    expect(workerState('RUNNING', undefined)).toBe('up');
    expect(workerState('DRAINING', undefined)).toBe('degraded');
    expect(workerState('STOPPED', undefined)).toBe('down');
    expect(workerState('RUNNING', 'worker stopped')).toBe('down');
  });
});
