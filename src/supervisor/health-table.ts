import { Chalk } from 'chalk';
import type { ComponentHealth, ComponentState, HealthReport } from '../health.js';

const HEADERS = ['COMPONENT', 'BACKEND', 'STATE', 'ADDRESS / FILE', 'PID', 'RESTARTS', 'DETAIL'] as const;

function cells(component: ComponentHealth): string[] {
  const restarts = component.restarts === undefined ? '-' : String(component.restarts) + (component.lastExitCode !== undefined && component.lastExitCode !== null && component.restarts > 0 ? ` (last exit ${component.lastExitCode})` : '');
  return [
    component.name,
    component.backend,
    component.state,
    component.address ?? component.path ?? '-',
    component.pid === undefined ? '-' : String(component.pid),
    restarts,
    component.detail ?? '',
  ];
}

/** The health table printed by `compozy dev` and `compozy status`; colour only when asked. */
export function renderHealthTable(report: HealthReport, options: { color: boolean }): string {
  const chalk = new Chalk({ level: options.color ? 1 : 0 });
  const paint: Record<ComponentState, (text: string) => string> = {
    up: chalk.green,
    starting: chalk.yellow,
    degraded: chalk.yellow,
    down: chalk.red,
  };
  const rows = report.components.map(cells);
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[], stateColumnPaint?: (text: string) => string) =>
    row
      .map((cell, column) => {
        const padded = column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
        return column === 2 && stateColumnPaint ? stateColumnPaint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const title = `${chalk.bold(report.project)} · mode ${report.mode} · ${paint[report.status](report.status)}`;
  return [title, chalk.dim(line(HEADERS)), ...rows.map((row, index) => line(row, paint[(report.components[index] as ComponentHealth).state]))].join('\n');
}
