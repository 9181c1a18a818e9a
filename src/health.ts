/** The health object shared by `compozy dev`, `compozy status` and `GET /api/v0/health`. */
export type ComponentState = 'starting' | 'up' | 'degraded' | 'down';

export interface ComponentHealth {
  name: string;
  backend: string;
  state: ComponentState;
  address?: string;
  path?: string;
  pid?: number;
  restarts?: number;
  lastExitCode?: number | null;
  detail?: string;
}

export interface HealthReport {
  mode: string;
  project: string;
  status: ComponentState;
  components: ComponentHealth[];
}

/** Overall state: up only when every component is up; down when any is down. */
export function overallState(components: readonly ComponentHealth[]): ComponentState {
  if (components.some((c) => c.state === 'down')) return 'down';
  if (components.some((c) => c.state === 'starting')) return 'starting';
  if (components.some((c) => c.state === 'degraded')) return 'degraded';
  return 'up';
}
