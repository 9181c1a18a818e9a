import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import { CompozyError } from '../errors.js';

/**
 * What the HTTP API refuses before a route runs, and how Fastify's and Node's own refusals reach the
 * client in our envelope.
 */

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Deepest nesting a JSON body may have (`{}` and `[]` count one level each). The serializers a body
 * passes through overflow their stack at a few thousand levels (measured on Node 24: structuredClone
 * ~1,600, v8.serialize for the tool IPC ~3,300, JSON.stringify in the store codec and Temporal's payload
 * converter ~4,400, fewer inside deep call stacks), so the limit sits far below the smallest of them.
 */
export const MAX_BODY_DEPTH = 100;

/**
 * Server timeouts. Node's `headersTimeout` is derived from `requestTimeout`, which Fastify sets to 0
 * (off), so without these a client that sends half its headers holds its socket forever.
 */
export const SERVER_TIMEOUTS = {
  /** All request headers must arrive within this, or the client gets 408 and the socket closes. */
  headersTimeoutMs: 10_000,
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: 30_000,
  /** A socket with no traffic at all for this long is closed. */
  connectionTimeoutMs: 60_000,
  /** Idle keep-alive sockets close after this; longer than the 60 s idle timeout of common load balancers, so they close first. */
  keepAliveTimeoutMs: 72_000,
  /** How often Node checks the headers and request timeouts. */
  checkIntervalMs: 1_000,
} as const;

export interface ErrorEnvelope {
  status: number;
  error: { code: string; message: string; details: Record<string, unknown> };
}

export function envelope(status: number, code: string, message: string, details: Record<string, unknown> = {}): ErrorEnvelope {
  return { status, error: { code, message, details } };
}

/** Fastify's own errors (FST_ERR_*), each with a code and a message that say what to send instead. */
export function frameworkErrorEnvelope(error: FastifyError | (Error & { statusCode?: number; code?: string }), request: { method: string; url: string; headers: Record<string, unknown> }): ErrorEnvelope {
  const status = error.statusCode ?? 500;
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE': {
      const type = request.headers['content-type'];
      return envelope(415, 'UNSUPPORTED_MEDIA_TYPE', `${type === undefined ? 'A body without a content-type' : `Content-Type "${String(type)}"`} is not accepted here.`, { hint: 'Send the body as JSON with content-type: application/json.' });
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return envelope(413, 'PAYLOAD_TOO_LARGE', `The body is larger than the ${BODY_LIMIT_BYTES / (1024 * 1024)} MiB limit.`, { limit_bytes: BODY_LIMIT_BYTES });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return envelope(400, 'BAD_REQUEST', 'The Content-Length header does not match the body that was sent.');
    case 'FST_ERR_BAD_URL':
      return envelope(400, 'BAD_REQUEST', `The URL ${JSON.stringify(request.url)} has invalid percent-encoding.`, { hint: 'Encode reserved characters as %XX with two hex digits (encodeURIComponent).' });
    default:
      if (status === 413) return envelope(413, 'PAYLOAD_TOO_LARGE', error.message);
      if (status >= 400 && status < 500) return envelope(status, 'BAD_REQUEST', error.message);
      return envelope(500, 'INTERNAL', 'Internal server error');
  }
}

/** Errors Node raises on a connection before Fastify sees a request (header overflow, timeouts, malformed HTTP). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let body: ErrorEnvelope;
  if (error.code === 'HPE_HEADER_OVERFLOW') body = envelope(431, 'HEADERS_TOO_LARGE', 'The request headers are larger than the server accepts (16 KiB in all).', { hint: 'Send fewer or smaller headers (large cookies are the usual cause).' });
  else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    body = envelope(408, 'REQUEST_TIMEOUT', `The request did not arrive in time (headers within ${SERVER_TIMEOUTS.headersTimeoutMs / 1000} s, the whole request within ${SERVER_TIMEOUTS.requestTimeoutMs / 1000} s).`);
  } else body = envelope(400, 'BAD_REQUEST', `The request is not valid HTTP: ${error.message}.`);
  if (socket.writable) {
    const text = JSON.stringify(body);
    socket.write(`HTTP/1.1 ${body.status} ${STATUS_CODES[body.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy(error);
}

/** Fastify options for the body limit, timeouts and the envelope on framework and connection errors. */
export function edgeServerOptions(): FastifyHttpOptions<Server> {
  return {
    bodyLimit: BODY_LIMIT_BYTES,
    connectionTimeout: SERVER_TIMEOUTS.connectionTimeoutMs,
    keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeoutMs,
    requestTimeout: SERVER_TIMEOUTS.requestTimeoutMs,
    http: {
      headersTimeout: SERVER_TIMEOUTS.headersTimeoutMs,
      requestTimeout: SERVER_TIMEOUTS.requestTimeoutMs,
      connectionsCheckingInterval: SERVER_TIMEOUTS.checkIntervalMs,
    },
    clientErrorHandler,
    frameworkErrors: (error, request, reply: FastifyReply) => {
      const body = frameworkErrorEnvelope(error, request);
      void reply.status(body.status).send(body);
    },
  };
}

/** Where in a parsed body a value sits, as `input.items[3].name`. */
function pathText(path: ReadonlyArray<string | number>): string {
  const shown = path.length > 8 ? [...path.slice(0, 8), '…'] : path;
  return shown.map((part, i) => (typeof part === 'number' ? `[${part}]` : part === '…' ? '…' : i === 0 ? part : `.${part}`)).join('') || '(the body)';
}

/**
 * Walks a parsed body once, without recursion, refusing nesting past MAX_BODY_DEPTH and the keys that
 * can rewrite prototypes when a value is later merged into an object: `__proto__`, and `constructor`
 * holding `prototype`. Refused rather than dropped: removing a key would change the data silently, and
 * keeping it would make every later merge, template function and copy a prototype-pollution risk.
 */
export function checkBody(value: unknown): void {
  const stack: Array<{ value: unknown; depth: number; path: Array<string | number> }> = [{ value, depth: 0, path: [] }];
  while (stack.length > 0) {
    const { value: current, depth, path } = stack.pop() as { value: unknown; depth: number; path: Array<string | number> };
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > MAX_BODY_DEPTH) {
      throw new CompozyError('INPUT_INVALID', `The body is nested more than ${MAX_BODY_DEPTH} levels deep (at ${pathText(path)}); the limit is ${MAX_BODY_DEPTH} levels.`, {
        hint: 'Flatten the data, or pass a deep structure as a JSON string.',
        details: { limit: MAX_BODY_DEPTH, path: pathText(path) },
      });
    }
    if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: [...path, i] }));
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      const forbidden = key === '__proto__' || (key === 'constructor' && item !== null && typeof item === 'object' && Object.hasOwn(item, 'prototype'));
      if (forbidden) {
        const where = pathText([...path, key]);
        throw new CompozyError('INPUT_INVALID', `The body has a key "${key === '__proto__' ? '__proto__' : 'constructor.prototype'}" (at ${where}), which is refused: such keys can rewrite object prototypes.`, {
          hint: 'Rename the key.',
          details: { path: where },
        });
      }
      stack.push({ value: item, depth: depth + 1, path: [...path, key] });
    }
  }
}

function badJson(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * The JSON body parser: JSON.parse keeps a `__proto__` key as an own property (it never sets the
 * prototype), then checkBody refuses it with a message saying so, instead of Fastify's "not valid JSON".
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') {
      done(badJson('The body is empty but content-type is application/json: send a JSON object, or drop the header.'), undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      done(badJson(`The body is not valid JSON: ${(error as Error).message}.`), undefined);
      return;
    }
    try {
      checkBody(value);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, value);
  });
}
