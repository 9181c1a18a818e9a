import type { FastifyInstance } from 'fastify';
import type { ExecutionQueue } from '../../engine/client.js';
import type { HealthReport } from '../../health.js';
import { route } from './schemas.js';

export interface MetricsSources {
  health(): Promise<HealthReport>;
  /** Absent when the process serves no execution API. */
  queue?: () => Promise<ExecutionQueue>;
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

class Exposition {
  private readonly lines: string[] = [];

  metric(name: string, type: 'gauge' | 'counter', help: string, samples: readonly { labels?: Record<string, string>; value: number }[]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const { labels, value } of samples) {
      const rendered = labels ? `{${Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`).join(',')}}` : '';
      this.lines.push(`${name}${rendered} ${value}`);
    }
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The execution queue and the health of every component, in Prometheus' text exposition format. */
export async function renderMetrics(sources: MetricsSources): Promise<string> {
  const out = new Exposition();
  const report = await sources.health();
  out.metric(
    'compozy_component_up',
    'gauge',
    'Whether a component is up (1) or starting, degraded or down (0).',
    report.components.map((c) => ({ labels: { component: c.name, backend: c.backend, state: c.state }, value: c.state === 'up' ? 1 : 0 })),
  );
  if (sources.queue) {
    const queue = await sources.queue();
    out.metric('compozy_executions', 'gauge', 'Executions not finished, by status: pending (accepted, not started), running, paused (paused or waiting for a signal).', [
      { labels: { status: 'pending' }, value: queue.pending },
      { labels: { status: 'running' }, value: queue.running },
      { labels: { status: 'paused' }, value: queue.paused },
    ]);
    if (queue.limit !== null) out.metric('compozy_admission_limit', 'gauge', 'Pending plus running executions at which new ones are refused with 429 OVERLOADED.', [{ value: queue.limit }]);
    out.metric('compozy_executions_admitted_total', 'counter', 'Executions and events this server accepted.', [{ value: queue.admitted }]);
    out.metric('compozy_executions_rejected_total', 'counter', 'Executions and events this server refused with 429 OVERLOADED.', [{ value: queue.rejected }]);
  }
  return out.text();
}

export function metricsRoute(sources: MetricsSources) {
  return async (app: FastifyInstance) => {
    const schema = route({
      summary: 'Prometheus metrics: component health and the execution queue',
      tags: ['health'],
      response: { 200: { description: 'the text exposition format, version 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
    });
    app.get('/metrics', { schema }, async (_request, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(await renderMetrics(sources)));
  };
}
