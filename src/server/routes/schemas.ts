import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { CompozyError } from '../../errors.js';

/**
 * How a route declares its HTTP edge. Every route passes a `schema` built from these pieces:
 *
 *   app.post<{ Params: { exec_id: string } }>('/executions/workflows/:exec_id/signals', {
 *     schema: route({
 *       summary: 'Send a signal',
 *       tags: ['executions'],
 *       params: params({ exec_id: EXEC_ID }),
 *       body: body({ signal_name: { type: 'string', minLength: 1 }, payload: ANY }, ['signal_name']),
 *       response: { 200: ok('sent', object({ exec_id: STRING })), ...errors({ 400: 'no signal_name', 404: 'unknown execution' }) },
 *     }),
 *   }, handler);
 *
 * Params, query and body are validated before the handler runs and a failure answers 400 INPUT_INVALID
 * with every failing field in details.errors. The same schemas generate /openapi.json, so the document
 * names exactly the routes and parameters that exist.
 *
 * Response schemas are open (`additionalProperties: true`): Fastify's serializer drops every property a
 * response schema does not list, and a field a client relies on must never vanish because the schema
 * forgot it. Free-form values (inputs, outputs, details) are ANY, which the serializer writes as-is.
 */

export type JsonSchema = Record<string, unknown>;

/** Any JSON value, written as-is. */
export const ANY: JsonSchema = {};
export const STRING: JsonSchema = { type: 'string' };
export const INTEGER: JsonSchema = { type: 'integer' };
export const STRING_OR_NULL: JsonSchema = { type: ['string', 'null'] };
/** An execution id as the store writes it. Not enforced by the schema: a malformed id is 400 INVALID_EXEC_ID from the engine, with its own hint. */
export const EXEC_ID: JsonSchema = { type: 'string', description: 'a KSUID, 27 characters of [0-9A-Za-z]' };

/** A response object: the listed properties documented, any others passed through. */
export function object(properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: true };
}

export function list(items: JsonSchema): JsonSchema {
  return { type: 'array', items };
}

/** Path parameters: every one is required, none other exists. */
export function params(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** A query string: every parameter optional unless named in `required`; an unknown one is refused. */
export function query(properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

/** A JSON request body: an object with these fields; an unknown field is refused by name, never dropped. */
export function body(properties: Record<string, JsonSchema>, required: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

/** The reference's success envelope (§8.2): `{status, message, data}`. */
export function ok(description: string, data: JsonSchema = ANY): JsonSchema {
  return { description, ...object({ status: INTEGER, message: STRING, data }, ['status', 'message', 'data']) };
}

/** The reference's error envelope (§8.2): `{status, error: {code, message, details}}`. */
const ERROR_ENVELOPE: JsonSchema = object(
  {
    status: INTEGER,
    error: object({ code: { type: 'string', description: 'a code from the ErrorCode set, e.g. INPUT_INVALID' }, message: STRING, details: object({}) }, ['code', 'message', 'details']),
  },
  ['status', 'error'],
);

/** The error answers a route can give, each with why. */
export function errors(reasons: Readonly<Record<number, string>>): Record<number, JsonSchema> {
  return Object.fromEntries(Object.entries(reasons).map(([status, description]) => [status, { description, ...ERROR_ENVELOPE }]));
}

/** A route's schema; the identity, typed, so a route file reads as a declaration. */
export function route(schema: FastifySchema & { summary: string; tags: readonly string[] }): FastifySchema {
  return schema;
}

/** `/input/items/3/name` as `input.items[3].name`, the way checkBody names a place in the body. */
function fieldPath(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (missing !== undefined) parts.push(missing);
  return parts.map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

const TYPE_NAMES: Record<string, string> = { object: 'a JSON object', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', null: 'null' };

/** One validation failure as a sentence that names the field and what it must be. */
function describe(error: ErrorObject, part: string): { path: string; message: string } {
  const where = part === 'body' ? 'The body' : part === 'querystring' ? 'The query' : 'The path';
  switch (error.keyword) {
    case 'required': {
      const path = fieldPath(error.instancePath, String((error.params as { missingProperty: string }).missingProperty));
      return { path, message: `${where} needs "${path}".` };
    }
    case 'additionalProperties': {
      const path = fieldPath(error.instancePath, String((error.params as { additionalProperty: string }).additionalProperty));
      return { path, message: `${where} has "${path}", which is not a field here.` };
    }
    case 'type': {
      const path = fieldPath(error.instancePath);
      const expected = String((error.params as { type: string }).type)
        .split(',')
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(' or ');
      return { path, message: path === '' ? `${where} must be ${expected}.` : `"${path}" must be ${expected}.` };
    }
    case 'enum': {
      const path = fieldPath(error.instancePath);
      return { path, message: `"${path}" must be one of ${((error.params as { allowedValues: unknown[] }).allowedValues).join(', ')}.` };
    }
    default: {
      const path = fieldPath(error.instancePath);
      return { path, message: `"${path || '(the value)'}" ${error.message ?? 'is invalid'}.` };
    }
  }
}

/**
 * Validators for request schemas. Query and path values arrive as text, so they are coerced to the
 * declared type ("10" to 10); a JSON body is never coerced (5 for a string field is an error, not "5").
 * Nothing is removed: an unknown field fails validation instead of disappearing. A request without a
 * body (which Fastify hands the validator as null, as it does a JSON `null`) is checked as `{}`, so a
 * route whose fields are all optional needs none and one with a required field says which.
 */
export function requestSchemaCompiler(): (schema: AnySchema, httpPart: string | undefined) => ValidateFunction {
  const shared = { allErrors: true, removeAdditional: false, useDefaults: false, strict: false } as const;
  // Made by the first schema each compiles (a route's first request), not with the server: ~4 ms each.
  let textParts: Ajv | undefined;
  let jsonBody: Ajv | undefined;
  return (schema, httpPart) => {
    if (httpPart !== 'body') return (textParts ??= new Ajv({ ...shared, coerceTypes: 'array' })).compile(schema);
    const check = (jsonBody ??= new Ajv({ ...shared, coerceTypes: false })).compile(schema);
    const validate = ((data: unknown): boolean => {
      const valid = check(data ?? {}) as boolean;
      validate.errors = check.errors;
      return valid;
    }) as ValidateFunction;
    validate.errors = check.errors;
    return validate;
  };
}

/**
 * A validator compiled by its route's first request rather than when the server starts: compiling every
 * route's schemas up front was ~40% of what `compozy serve` did between building its routes and
 * listening (ajv, 415 of 1,360 ms under this machine's load), for routes a run mostly never calls. The
 * schemas are the code's own; test/server/openapi.test.ts compiles every route's.
 */
function onFirstUse(compile: () => ValidateFunction): ValidateFunction {
  let check: ValidateFunction | undefined;
  const validate = ((data: unknown): boolean => {
    check ??= compile();
    const valid = check(data) as boolean;
    validate.errors = check.errors;
    return valid;
  }) as ValidateFunction;
  validate.errors = null;
  return validate;
}

/** Fastify's own response serializer compiler (fast-json-stringify), compiling one route's schema for one status. */
export function responseSerializerCompiler(): SerializerSelector.SerializerCompiler {
  return SerializerSelector()();
}

/**
 * A response serializer compiled by the first answer with its status rather than when the server
 * starts: fast-json-stringify compiling every route's response schemas was ~70 ms of serve's start,
 * ahead of /readyz (~1 ms per route and status on first use). test/server/openapi.test.ts compiles
 * every route's.
 */
function serializeOnFirstUse(compile: () => SerializerSelector.Serializer): SerializerSelector.Serializer {
  let serialize: SerializerSelector.Serializer | undefined;
  return (data) => (serialize ??= compile())(data);
}

export function registerValidation(app: FastifyInstance): void {
  const compile = requestSchemaCompiler();
  app.setValidatorCompiler(({ schema, httpPart }) => onFirstUse(() => compile(schema, httpPart)));
  const serializer = responseSerializerCompiler();
  app.setSerializerCompiler((route) => serializeOnFirstUse(() => serializer(route as SerializerSelector.RouteDefinition)));
  app.setSchemaErrorFormatter((failures, dataVar) => {
    const details = failures.map((failure) => describe(failure as ErrorObject, dataVar));
    return new CompozyError('INPUT_INVALID', details.map((d) => d.message).join(' '), { details: { errors: details } });
  });
}
