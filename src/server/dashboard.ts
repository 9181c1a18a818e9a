import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../config/project.js';
import { CompozyError } from '../errors.js';

/** Where the package build (`vite build web`) puts the dashboard. */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'dist', 'web');

/** The dashboard's own routes: its page and its hashed assets. Open with API keys on: they hold no data, the API calls they make send the key. */
export function isDashboardRoute(pattern: string): boolean {
  return pattern === '/' || pattern === '/index.html' || pattern.startsWith('/assets/');
}

/**
 * Serves the built dashboard at / from the package's dist/web: no CDN, it works offline. The page
 * uses hash routes (#/workflows/weather), so the server has one page and its assets, nothing else
 * under / that could shadow an API route. The assets' names carry their content hash and are cached
 * for good; index.html is revalidated so a rebuilt dashboard is picked up on reload.
 */
export function registerDashboard(app: FastifyInstance, dir = DASHBOARD_DIR): void {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new CompozyError('PROCESS_START_FAILED', `The dashboard is not built: ${join(dir, 'index.html')} is missing.`, {
      hint: 'Run `npm run build` in the compozy package (it builds web/ into dist/web), or start without the dashboard.',
    });
  }
  void app.register(async (scope) => {
    // Loaded here, not with the module: every CLI process imports this file (the auth policy names the
    // dashboard's routes), and @fastify/static with its glob, send and mime cost ~100 ms at start-up.
    const { default: fastifyStatic } = await import('@fastify/static');
    await scope.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      decorateReply: false,
      setHeaders: (reply, path) => {
        void reply.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      },
    });
  });
}
