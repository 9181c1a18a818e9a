import type { WorkflowTask } from './api';

interface Edge {
  from: string;
  to: string;
  label: string;
  kind: 'success' | 'error' | 'route' | 'timeout';
}

/** The transitions between top-level tasks; a next that is a template names no task and shows in the list only. */
export function edgesOf(tasks: WorkflowTask[]): Edge[] {
  const ids = new Set(tasks.map((t) => t.id));
  const edges: Edge[] = [];
  for (const task of tasks) {
    if (task.on_success) edges.push({ from: task.id, to: task.on_success, label: 'success', kind: 'success' });
    if (task.on_error) edges.push({ from: task.id, to: task.on_error, label: 'error', kind: 'error' });
    if (task.on_timeout) edges.push({ from: task.id, to: task.on_timeout, label: 'timeout', kind: 'timeout' });
    for (const [key, to] of Object.entries(task.routes ?? {})) edges.push({ from: task.id, to, label: key, kind: 'route' });
  }
  return edges.filter((edge) => ids.has(edge.to));
}

const W = 180;
const H = 46;
const GAP_X = 40;
const GAP_Y = 56;
/** A child task's box inside its parent's, one under another below the parent's id and type. */
const CHILD_H = 26;
const CHILD_GAP = 6;
const CHILD_PAD = 10;

/** A node's height: a parent (parallel, composite, collection) grows to hold a box per child. */
function heightOf(task: WorkflowTask): number {
  return task.children.length === 0 ? H : H + task.children.length * (CHILD_H + CHILD_GAP) + CHILD_PAD - CHILD_GAP;
}

function clip(id: string, max: number): string {
  return id.length > max ? `${id.slice(0, max - 1)}…` : id;
}

/** Layers by distance from the first task (the one an execution starts at); tasks nothing reaches go last. */
function layers(tasks: WorkflowTask[], edges: Edge[]): string[][] {
  const level = new Map<string, number>();
  const first = tasks[0];
  if (first) {
    level.set(first.id, 0);
    const queue = [first.id];
    while (queue.length > 0) {
      const id = queue.shift() as string;
      for (const edge of edges.filter((e) => e.from === id)) {
        if (level.has(edge.to)) continue;
        level.set(edge.to, (level.get(id) as number) + 1);
        queue.push(edge.to);
      }
    }
  }
  let next = Math.max(-1, ...level.values()) + 1;
  for (const task of tasks) if (!level.has(task.id)) level.set(task.id, next++);
  const rows: string[][] = [];
  for (const task of tasks) (rows[level.get(task.id) as number] ??= []).push(task.id);
  return rows.filter((row) => row !== undefined);
}

export function WorkflowGraph({ tasks }: { tasks: WorkflowTask[] }) {
  const edges = edgesOf(tasks);
  const rows = layers(tasks, edges);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * W + (widest + 1) * GAP_X;
  const rowHeights = rows.map((row) => Math.max(...row.map((id) => heightOf(byId.get(id) as WorkflowTask))));
  const height = rowHeights.reduce((sum, h) => sum + h, 0) + (rows.length + 1) * GAP_Y;
  const position = new Map<string, { x: number; y: number; h: number }>();
  let top = GAP_Y;
  rows.forEach((row, r) => {
    const offset = (width - (row.length * W + (row.length - 1) * GAP_X)) / 2;
    row.forEach((id, c) => position.set(id, { x: offset + c * (W + GAP_X), y: top, h: heightOf(byId.get(id) as WorkflowTask) }));
    top += (rowHeights[r] as number) + GAP_Y;
  });
  return (
    <svg class="graph" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label="workflow graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
        </marker>
      </defs>
      {edges.map((edge, i) => {
        const a = position.get(edge.from) as { x: number; y: number; h: number };
        const b = position.get(edge.to) as { x: number; y: number; h: number };
        const forward = b.y > a.y;
        const start = { x: a.x + W / 2, y: forward ? a.y + a.h : a.y + H / 2 };
        const end = { x: b.x + W / 2, y: forward ? b.y : b.y + H / 2 };
        // A transition back up (a retry loop) goes around the right of the nodes.
        const path = forward
          ? `M ${start.x} ${start.y} C ${start.x} ${start.y + GAP_Y / 2}, ${end.x} ${end.y - GAP_Y / 2}, ${end.x} ${end.y}`
          : `M ${a.x + W} ${start.y} C ${a.x + W + GAP_X * 2} ${start.y}, ${b.x + W + GAP_X * 2} ${end.y}, ${b.x + W} ${end.y}`;
        const labelX = forward ? (start.x + end.x) / 2 + 6 : Math.max(a.x, b.x) + W + GAP_X;
        const labelY = forward ? (start.y + end.y) / 2 : (start.y + end.y) / 2;
        return (
          <g key={i} class={`edge edge-${edge.kind}`}>
            <path d={path} fill="none" marker-end="url(#arrow)" />
            <text x={labelX} y={labelY}>
              {edge.label}
            </text>
          </g>
        );
      })}
      {[...position].map(([id, p]) => {
        const task = byId.get(id) as WorkflowTask;
        return (
          <g key={id} class={`node node-${task.type}`} transform={`translate(${p.x} ${p.y})`} data-task={id}>
            <rect width={W} height={p.h} rx="6" />
            <text x={W / 2} y={19} text-anchor="middle" class="node-id">
              {clip(id, 22)}
            </text>
            <text x={W / 2} y={36} text-anchor="middle" class="node-type">
              {task.type}
              {task.type === 'collection' ? ' · each item' : ''}
            </text>
            {task.children.map((child, i) => (
              <g key={child} class="child" data-child={child} transform={`translate(${CHILD_PAD} ${H + i * (CHILD_H + CHILD_GAP)})`}>
                <title>{child}</title>
                <rect width={W - 2 * CHILD_PAD} height={CHILD_H} rx="4" />
                <text x={(W - 2 * CHILD_PAD) / 2} y={17} text-anchor="middle">
                  {clip(child, 24)}
                </text>
              </g>
            ))}
          </g>
        );
      })}
    </svg>
  );
}
