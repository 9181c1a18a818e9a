import type { FastifyInstance } from 'fastify';
import type { ScheduleInfo, Schedules } from '../../triggers/schedules.js';
import { body, errors, list, object, ok, params, route, STRING } from './schemas.js';

const WORKFLOW_PARAMS = params({ workflow_id: STRING });
const BOOLEAN = { type: 'boolean' };
const TIME = { type: 'string', description: 'RFC 3339' };

/** The reference's ScheduleInfoResponse (engine/workflow/schedule/router/models.go). */
const SCHEDULE = object({
  workflow_id: STRING,
  schedule_id: { type: 'string', description: 'schedule-<project>-<workflow>' },
  cron: { type: 'string', description: 'as written in the YAML, or the override set through PATCH' },
  timezone: STRING,
  enabled: BOOLEAN,
  is_override: { type: 'boolean', description: 'enabled or cron was changed through PATCH; it stands until the YAML changes' },
  yaml_config: { type: 'object', description: 'the schedule as the YAML declares it, while an override stands', additionalProperties: true },
  next_run_time: TIME,
  last_run_time: TIME,
});

const NOT_FOUND = { 404: 'SCHEDULE_NOT_FOUND: the workflow declares no schedule, or its Temporal Schedule was deleted' };

/** The project's workflow schedules (reference engine/workflow/schedule/router: GET list, GET/PATCH/DELETE by workflow). */
export function scheduleRoutes(schedules: Schedules) {
  const one = (message: string, data: ScheduleInfo) => ({ status: 200, message, data });
  return async (app: FastifyInstance) => {
    const listSchema = route({ summary: 'Scheduled workflows', tags: ['schedules'], response: { 200: ok('schedules retrieved', object({ schedules: list(SCHEDULE), total: { type: 'integer' } })) } });
    app.get('/schedules', { schema: listSchema }, async () => {
      const found = await schedules.list();
      return { status: 200, message: 'schedules retrieved', data: { schedules: found, total: found.length } };
    });

    const getSchema = route({ summary: 'One workflow\'s schedule', tags: ['schedules'], params: WORKFLOW_PARAMS, response: { 200: ok('schedule retrieved', SCHEDULE), ...errors(NOT_FOUND) } });
    app.get<{ Params: { workflow_id: string } }>('/schedules/:workflow_id', { schema: getSchema }, async (request) => one('schedule retrieved', await schedules.get(request.params.workflow_id)));

    const patchSchema = route({
      summary: 'Pause, resume or re-time a schedule (an override that stands until the YAML changes)',
      tags: ['schedules'],
      params: WORKFLOW_PARAMS,
      body: body({ enabled: BOOLEAN, cron: { type: 'string', description: 'any form schedule.cron takes' } }),
      response: { 200: ok('schedule updated', SCHEDULE), ...errors({ 400: "neither 'enabled' nor 'cron', or a cron that does not parse", ...NOT_FOUND }) },
    });
    app.patch<{ Params: { workflow_id: string }; Body: { enabled?: boolean; cron?: string } | undefined }>('/schedules/:workflow_id', { schema: patchSchema }, async (request) => {
      const { enabled, cron } = request.body ?? {};
      return one('schedule updated', await schedules.update(request.params.workflow_id, { ...(enabled !== undefined ? { enabled } : {}), ...(cron !== undefined ? { cron } : {}) }));
    });

    const deleteSchema = route({ summary: 'Delete a workflow\'s Temporal Schedule (the next server start recreates it while the YAML declares it)', tags: ['schedules'], params: WORKFLOW_PARAMS, response: { 204: { description: 'deleted', type: 'null' }, ...errors(NOT_FOUND) } });
    app.delete<{ Params: { workflow_id: string } }>('/schedules/:workflow_id', { schema: deleteSchema }, async (request, reply) => {
      await schedules.remove(request.params.workflow_id);
      return reply.status(204).send();
    });

    const triggerSchema = route({ summary: 'Fire a schedule now (its overlap policy applies)', tags: ['schedules'], params: WORKFLOW_PARAMS, response: { 202: ok('schedule triggered', SCHEDULE), ...errors(NOT_FOUND) } });
    app.post<{ Params: { workflow_id: string } }>('/schedules/:workflow_id/trigger', { schema: triggerSchema }, async (request, reply) => reply.status(202).send({ status: 202, message: 'schedule triggered', data: await schedules.trigger(request.params.workflow_id) }));
  };
}
