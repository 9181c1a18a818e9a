import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../config/project.js';

const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * /openapi.json is generated from the routes' own schemas by @fastify/swagger, so it lists exactly
 * the routes, path parameters and bodies the server has; Swagger UI at /docs reads it, its assets
 * served from the installed package (no CDN, it works offline). Registered before the route plugins:
 * the document is built from the routes added after it.
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'compozy API', version, description: 'Success answers are {status, message, data}; errors are {status, error: {code, message, details}}.' },
      tags: [
        { name: 'workflows', description: 'Workflow definitions, starting executions, events' },
        { name: 'executions', description: 'Execution state and steering' },
        { name: 'health', description: 'Liveness, readiness, health and metrics' },
        { name: 'memory', description: 'Conversation memories: read, write, append, delete, flush, health, clear, stats' },
        { name: 'agents', description: 'Direct agent executions (an action or a prompt)' },
        { name: 'tasks', description: 'Direct executions of a workflow\'s task' },
        { name: 'tools', description: 'Direct tool executions' },
        { name: 'resources', description: 'The loaded project, read-only: agents, tools, tasks, models, memories, schemas' },
        { name: 'schedules', description: 'Workflow schedules (Temporal Schedules): list, inspect, pause, resume, re-time, delete, fire' },
      ],
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  void app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
}
