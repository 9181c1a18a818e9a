import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { EngineClient } from '../../src/engine/client.js';
import type { EventBus } from '../../src/engine/events.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { buildApp } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth/keys.js';
import { routeNeed } from '../../src/server/auth/policy.js';
import { registerDashboard } from '../../src/server/dashboard.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TOOLS_YAML, writeProject } from '../engine/harness.js';
import { tempDir } from '../helpers/fake-bin.js';

// The dashboard is served from dist/web, which `npm run build` (vitest's pretest) makes.
const closing: Array<{ close(): Promise<unknown> }> = [];
afterAll(async () => {
  for (const item of closing.reverse()) await item.close();
});

const project = writeProject({
  'workflows/flow.yaml': `id: flow
${TOOLS_YAML}tasks:
  - id: first
    tool: echo
    on_success:
      next: pick
    on_error:
      next: cleanup
  - id: pick
    type: router
    condition: '{{ .input.way }}'
    routes:
      wait: approval
      fan: fan
  - id: approval
    type: wait
    wait_for: approve
    condition: 'true'
    timeout: 1m
    on_timeout: cleanup
  - id: fan
    type: parallel
    tasks:
      - id: left
        tool: echo
      - id: right
        tool: echo
  - id: cleanup
    tool: echo
`,
});

function api(options: { dashboard: boolean; host?: string }) {
  const dir = tempDir('dashboard-api');
  const store = SqliteStore.open(join(dir, 'compozy.db'));
  const kv = SqliteKv.open(join(dir, 'kv.db'));
  const client = { workflow: { async start() {} } } as unknown as Client;
  const engine = new EngineClient({ client, store, project, taskQueue: 'q', workerAvailable: async () => true, maxActiveExecutions: 0 });
  const events = { publish: async () => ksuid() } as unknown as EventBus;
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'p', status: 'up', components: [{ name: 'store', backend: 'sqlite', state: 'up' }] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events },
    security: { host: options.host ?? '127.0.0.1', settings: loadSettings({ document: {} }, {}, {}), keys: store.apiKeys, kv },
    dashboard: options.dashboard,
  });
  closing.push(kv, store, app);
  return { app, store };
}

describe('the dashboard at /', () => {
  it('serves its page and the assets the page names, the assets cached for good and the page revalidated', async () => {
    const { app } = api({ dashboard: true });
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('<div id="app"></div>');
    const assets = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const answer = await app.inject({ method: 'GET', url: asset });
      expect(answer.statusCode, asset).toBe(200);
      expect(answer.headers['cache-control'], asset).toBe('public, max-age=31536000, immutable');
      expect(answer.headers['content-type'], asset).toMatch(asset.endsWith('.js') ? /javascript/ : /text\/css/);
    }
    // Nothing loaded from elsewhere: the page works offline.
    expect(page.body).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
  });

  it('leaves the API, /docs and the 404 envelope as they are', async () => {
    const { app } = api({ dashboard: true });
    expect((await app.inject({ method: 'GET', url: '/api/v0/health' })).json()).toMatchObject({ status: 200, data: { status: 'up' } });
    expect((await app.inject({ method: 'GET', url: '/api/v0/workflows' })).json().data.workflows.map((w: { id: string }) => w.id)).toEqual(['flow']);
    expect((await app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } });
    expect((await app.inject({ method: 'GET', url: '/api/v0/nope' })).json()).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } });
  });

  it('is not served unless asked for', async () => {
    const { app } = api({ dashboard: false });
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
  });

  it('with API keys required, the page is open and the data behind it still needs a key', async () => {
    const { app, store } = api({ dashboard: true, host: '0.0.0.0' });
    const { key } = await createKey(store.apiKeys, { name: 'reader', scope: 'read', expiresAt: null });
    await app.ready();
    expect(routeNeed('GET', '/')).toBe('open');
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v0/workflows' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v0/workflows', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
  });

  it('refuses to start when the dashboard was not built, naming the missing file', () => {
    const dir = tempDir('no-dashboard');
    expect(() => registerDashboard(Fastify(), dir)).toThrow(expect.objectContaining({ code: 'PROCESS_START_FAILED', message: `The dashboard is not built: ${join(dir, 'index.html')} is missing.` }));
  });
});

describe('a workflow definition names its transitions (the dashboard draws them)', () => {
  it('on_success, on_error, a router\'s routes, a wait\'s signal and timeout, a parent\'s children', async () => {
    const { app } = api({ dashboard: false });
    const { tasks } = (await app.inject({ method: 'GET', url: '/api/v0/workflows/flow' })).json().data;
    expect(tasks).toEqual([
      { id: 'first', type: 'basic', on_success: 'pick', on_error: 'cleanup', routes: null, wait_for: null, on_timeout: null, children: [] },
      { id: 'pick', type: 'router', on_success: null, on_error: null, routes: { wait: 'approval', fan: 'fan' }, wait_for: null, on_timeout: null, children: [] },
      { id: 'approval', type: 'wait', on_success: null, on_error: null, routes: null, wait_for: 'approve', on_timeout: 'cleanup', children: [] },
      { id: 'fan', type: 'parallel', on_success: null, on_error: null, routes: null, wait_for: null, on_timeout: null, children: ['left', 'right'] },
      { id: 'cleanup', type: 'basic', on_success: null, on_error: null, routes: null, wait_for: null, on_timeout: null, children: [] },
    ]);
  });
});
