import type { FastifyInstance } from 'fastify';
import { MEMORY_FLUSH_STRATEGIES, MEMORY_OPERATION_LIMITS, MEMORY_ROLES, type MemoryFlushStrategy } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import { MEMORY_LIMITS } from '../../memory/limits.js';
import { executeMemoryOperation, isKeyPattern, parseMemoryPayload, type MemoryManager, type MemoryMessage, type MemoryOperationRequest } from '../../memory/service.js';
import { body, errors, INTEGER, list, object, ok, params, query, route, STRING, type JsonSchema } from './schemas.js';

/** Reference §5.6: GET /read pages 50 messages by default; GET /stats counts roles over 100. */
const MEMORY_API_DEFAULTS = { readLimit: 50, statsLimit: 100 } as const;

const MEMORY_PARAMS = params({ memory_ref: { type: 'string', description: `a memory resource id: 1 to ${MEMORY_LIMITS.refLength} letters, digits, "_" or "-"` } });
const KEY: JsonSchema = { type: 'string', description: `the conversation key, e.g. "user:42" (at most ${MEMORY_LIMITS.keyLength} characters, no control characters)` };
const PATTERN_KEY: JsonSchema = { type: 'string', description: `${String(KEY.description)}; or a glob such as "user:*" for every matching conversation` };
const BOOLEAN: JsonSchema = { type: 'boolean' };
const LIMIT = (fallback: number): JsonSchema => ({ type: 'integer', minimum: 1, maximum: MEMORY_LIMITS.pageLimit, description: `messages in the page (default ${fallback})` });
const OFFSET: JsonSchema = { type: 'integer', minimum: 0, description: 'messages to skip from the oldest (default 0)' };

/**
 * A message as a body carries it. The byte limits (10 KiB a message, 100 KiB a request) are the memory
 * core's (parseMemoryPayload), which names the body's field: `messages[3].content`.
 */
const MESSAGE_IN: JsonSchema = {
  type: 'object',
  properties: { role: { type: 'string', enum: [...MEMORY_ROLES], description: 'default user' }, content: { type: 'string', description: 'at most 10 KiB' } },
  required: ['content'],
  additionalProperties: false,
};
const MESSAGES_IN: JsonSchema = { type: 'array', items: MESSAGE_IN, maxItems: MEMORY_LIMITS.messagesPerRequest, description: `at most ${MEMORY_LIMITS.messagesPerRequest} messages, 100 KiB in all` };
const MESSAGE = object({ role: STRING, content: STRING });
const COUNTS = { message_count: INTEGER, token_count: INTEGER };
const STRATEGY: JsonSchema = { type: 'string', enum: [...MEMORY_FLUSH_STRATEGIES] };
/** With a glob key, an operation answers for every matching conversation. */
const MANY = { keys: list(STRING), key_count: INTEGER, results: list(object({})) };

const FAILURES = {
  400: 'INPUT_INVALID: a missing or bad key, a bad body (role, sizes, counts; the field is named), a bad limit or offset',
  404: 'MEMORY_NOT_FOUND: the project declares no memory with this id (details.known lists those it has)',
  503: 'MEMORY_UNAVAILABLE: the KV the memory lives on does not answer (details.backend names it)',
};

type Params = { memory_ref: string };

/**
 * The memory REST API of reference §5.6 under /api/v0/memory/:memory_ref/…, every operation run by the
 * memory core (executeMemoryOperation) that memory tasks use, answering in its §5.5 shapes inside the
 * envelope.
 */
export function memoryRoutes(manager: MemoryManager) {
  const run = (memoryRef: string, operation: string, key: string, rest: Omit<MemoryOperationRequest, 'operation' | 'memoryRef' | 'key'> = {}) =>
    executeMemoryOperation(manager, { operation, memoryRef, key, ...rest });
  /** A body's messages checked under their own name: `messages[3].content`. */
  const messages = (list: unknown) => parseMemoryPayload(list, 'messages');

  return async (app: FastifyInstance) => {
    // An unknown memory is 404 before anything about the query or the body (this plugin's routes only).
    app.addHook('preValidation', async (request) => {
      manager.resource((request.params as Params).memory_ref);
    });

    const readSchema = route({
      summary: 'Read one page of a conversation, oldest first',
      tags: ['memory'],
      params: MEMORY_PARAMS,
      querystring: query({ key: KEY, limit: LIMIT(MEMORY_API_DEFAULTS.readLimit), offset: OFFSET }, ['key']),
      response: {
        200: ok('the page', object({ key: STRING, messages: list(MESSAGE), count: INTEGER, total_count: INTEGER, has_more: BOOLEAN, limit: INTEGER, offset: INTEGER })),
        ...errors(FAILURES),
      },
    });
    app.get<{ Params: Params; Querystring: { key: string; limit?: number; offset?: number } }>('/memory/:memory_ref/read', { schema: readSchema }, async (request) => {
      const { key, limit = MEMORY_API_DEFAULTS.readLimit, offset = 0 } = request.query;
      return { status: 200, message: 'memory read successfully', data: await run(request.params.memory_ref, 'read', key, { page: { offset, limit } }) };
    });

    // write and append: the same body of messages, answered in their own shapes.
    const messagesRoute = (operation: 'write' | 'append', summary: string, answer: string, data: JsonSchema, message: string) => {
      const schema = route({
        summary,
        tags: ['memory'],
        params: MEMORY_PARAMS,
        body: body({ key: KEY, messages: MESSAGES_IN }, ['key', 'messages']),
        response: { 200: ok(answer, data), ...errors(FAILURES) },
      });
      app.post<{ Params: Params; Body: { key: string; messages: MemoryMessage[] } }>(`/memory/:memory_ref/${operation}`, { schema }, async (request) => ({
        status: 200,
        message,
        data: await run(request.params.memory_ref, operation, request.body.key, { payload: messages(request.body.messages) }),
      }));
    };
    messagesRoute('write', 'Replace every message of a conversation (atomically)', 'written', object({ success: BOOLEAN, count: INTEGER, key: STRING }), 'memory written successfully');
    messagesRoute(
      'append',
      'Append messages to a conversation (with its counters, trim and flush check)',
      'appended',
      object({ success: BOOLEAN, appended: INTEGER, total_count: INTEGER, key: STRING }),
      'memory appended successfully',
    );

    const deleteSchema = route({
      summary: 'Delete a conversation',
      tags: ['memory'],
      params: MEMORY_PARAMS,
      body: body({ key: KEY }, ['key']),
      response: { 200: ok('deleted', object({ success: BOOLEAN, key: STRING })), ...errors(FAILURES) },
    });
    app.post<{ Params: Params; Body: { key: string } }>('/memory/:memory_ref/delete', { schema: deleteSchema }, async (request) => ({
      status: 200,
      message: 'memory deleted successfully',
      data: await run(request.params.memory_ref, 'delete', request.body.key),
    }));

    const flushSchema = route({
      summary: "Flush a conversation with the memory's strategy (or another), when its thresholds are reached or forced",
      tags: ['memory'],
      params: MEMORY_PARAMS,
      body: body(
        {
          key: PATTERN_KEY,
          force: { type: 'boolean', description: 'flush even below the thresholds' },
          dry_run: { type: 'boolean', description: 'say what would happen, change nothing' },
          max_keys: { type: 'integer', minimum: 1, maximum: MEMORY_OPERATION_LIMITS.maxKeys, description: `with a glob key: at most this many conversations (default ${MEMORY_OPERATION_LIMITS.defaultMaxKeys})` },
          strategy: STRATEGY,
        },
        ['key'],
      ),
      response: {
        200: ok('flushed, or why not (error)', object({ success: BOOLEAN, key: STRING, summary_generated: BOOLEAN, ...COUNTS, dry_run: BOOLEAN, would_flush: BOOLEAN, actual_strategy: STRING, error: STRING, ...MANY })),
        ...errors(FAILURES),
      },
    });
    app.post<{ Params: Params; Body: { key: string; force?: boolean; dry_run?: boolean; max_keys?: number; strategy?: MemoryFlushStrategy } }>(
      '/memory/:memory_ref/flush',
      { schema: flushSchema },
      async (request) => {
        const { key, force, dry_run: dryRun, max_keys: maxKeys, strategy } = request.body;
        const flush = { ...(force !== undefined ? { force } : {}), ...(dryRun !== undefined ? { dryRun } : {}), ...(strategy !== undefined ? { strategy } : {}) };
        return { status: 200, message: 'memory flushed successfully', data: await run(request.params.memory_ref, 'flush', key, { flush, ...(maxKeys !== undefined ? { maxKeys } : {}) }) };
      },
    );

    const healthSchema = route({
      summary: 'The health of a conversation: counters, strategy, last flush',
      tags: ['memory'],
      params: MEMORY_PARAMS,
      querystring: query({ key: PATTERN_KEY, include_stats: { type: 'boolean', description: 'add the stats' } }, ['key']),
      response: {
        200: ok('its health', object({ healthy: BOOLEAN, key: STRING, ...COUNTS, actual_strategy: STRING, last_flush: STRING, current_tokens: INTEGER, stats: object({}), ...MANY })),
        ...errors(FAILURES),
      },
    });
    app.get<{ Params: Params; Querystring: { key: string; include_stats?: boolean } }>('/memory/:memory_ref/health', { schema: healthSchema }, async (request) => {
      const { key, include_stats: includeStats } = request.query;
      return { status: 200, message: 'memory health retrieved successfully', data: await run(request.params.memory_ref, 'health', key, includeStats !== undefined ? { health: { includeStats } } : {}) };
    });

    const clearSchema = route({
      summary: 'Clear a conversation; needs confirm: true',
      tags: ['memory'],
      params: MEMORY_PARAMS,
      body: body({ key: PATTERN_KEY, confirm: { type: 'boolean', description: 'must be true' }, backup: { type: 'boolean', description: 'keep a copy under the backup key for 24 h' } }, ['key']),
      response: { 200: ok('cleared', object({ success: BOOLEAN, key: STRING, messages_cleared: INTEGER, backup_created: BOOLEAN, ...MANY })), ...errors(FAILURES) },
    });
    app.post<{ Params: Params; Body: { key: string; confirm?: boolean; backup?: boolean } }>('/memory/:memory_ref/clear', { schema: clearSchema }, async (request) => {
      const { key, confirm, backup } = request.body;
      return {
        status: 200,
        message: 'memory cleared successfully',
        data: await run(request.params.memory_ref, 'clear', key, { clear: { confirm: confirm === true, ...(backup !== undefined ? { backup } : {}) } }),
      };
    });

    const statsSchema = route({
      summary: 'Statistics of a conversation; role_distribution counts the roles of one page of it',
      tags: ['memory'],
      params: MEMORY_PARAMS,
      querystring: query({ key: PATTERN_KEY, limit: LIMIT(MEMORY_API_DEFAULTS.statsLimit), offset: OFFSET }, ['key']),
      response: {
        200: ok(
          'its statistics',
          object({
            key: STRING,
            ...COUNTS,
            context_window_used: { type: 'integer', description: 'messages in the conversation, as the reference counts it' },
            token_limit: INTEGER,
            token_utilization: { type: 'number' },
            role_distribution: object({}),
            pagination_info: object({ limit: INTEGER, offset: INTEGER, total_count: INTEGER, has_more: BOOLEAN }),
            actual_strategy: STRING,
            avg_tokens_per_message: { type: 'number' },
            last_flush: { type: ['string', 'null'] },
            ...MANY,
          }),
        ),
        ...errors(FAILURES),
      },
    });
    app.get<{ Params: Params; Querystring: { key: string; limit?: number; offset?: number } }>('/memory/:memory_ref/stats', { schema: statsSchema }, async (request) => {
      const { key, limit, offset } = request.query;
      const ref = request.params.memory_ref;
      const message = 'memory statistics retrieved successfully';
      if (isKeyPattern(key)) {
        if (limit !== undefined || offset !== undefined) {
          throw new CompozyError('INPUT_INVALID', `limit and offset page the roles of one conversation; "${key}" is a pattern over many.`, {
            details: { field: limit !== undefined ? 'limit' : 'offset' },
            hint: 'Drop limit and offset, or give one conversation\'s key.',
          });
        }
        return { status: 200, message, data: await run(ref, 'stats', key) };
      }
      const stats = await run(ref, 'stats', key);
      const page = { offset: offset ?? 0, limit: limit ?? MEMORY_API_DEFAULTS.statsLimit };
      const read = await run(ref, 'read', key, { page });
      const roles: Record<string, number> = {};
      for (const m of read.messages as MemoryMessage[]) roles[m.role] = (roles[m.role] ?? 0) + 1;
      const total = read.total_count as number;
      const paged = page.offset > 0 || total > page.limit;
      return {
        status: 200,
        message,
        data: {
          ...stats,
          context_window_used: stats.message_count,
          role_distribution: roles,
          ...(paged ? { pagination_info: { limit: page.limit, offset: page.offset, total_count: total, has_more: read.has_more } } : {}),
        },
      };
    });
  };
}
