import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import { bindPort } from '../platform/ports.js';
import { clientErrorHandler, SERVER_TIMEOUTS } from './http-edge.js';

/** How long requests still open at shutdown (a long poll, a stream) get before their sockets are closed. */
const CLOSE_GRACE_MS = 2000;

/**
 * The API's listening socket, apart from the Fastify app that answers on it: a project reload builds
 * the next app over the new runtime and hands the socket to it, so the port, the open keep-alive
 * connections and the requests in flight on the previous app are not interrupted. The apps are built
 * with `serverFactory` (they never listen themselves, so closing one leaves the socket open), and the
 * server gets here the timeouts and the connection-error envelope Fastify would otherwise set.
 */
export class HttpFront {
  readonly server: Server;
  private app: FastifyInstance | undefined;

  constructor() {
    this.server = createServer(
      { headersTimeout: SERVER_TIMEOUTS.headersTimeoutMs, requestTimeout: SERVER_TIMEOUTS.requestTimeoutMs, connectionsCheckingInterval: SERVER_TIMEOUTS.checkIntervalMs },
      (request, response) => this.route(request, response),
    );
    this.server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeoutMs;
    this.server.setTimeout(SERVER_TIMEOUTS.connectionTimeoutMs);
  }

  /** The Fastify option that builds an app over this socket. */
  readonly serverFactory: FastifyServerFactory = () => this.server;

  /** Routes every request from now on to `app` (ready: its routes registered); the previous app finishes the requests it has. */
  async use(app: FastifyInstance): Promise<void> {
    await app.ready();
    // Every app built over the socket adds its own connection-error listener: one answers.
    this.server.removeAllListeners('clientError');
    this.server.on('clientError', clientErrorHandler);
    this.app = app;
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    (this.app as FastifyInstance).routing(request, response);
  }

  /** Binds host:port (the next free port with fallback) and says which port it got. */
  async listen(http: { host: string; port: number; portFallback: boolean }): Promise<number> {
    if (!this.app) throw new Error('HttpFront.listen() before use(app): no app would answer.');
    const { host } = http;
    await bindPort({ port: http.port, fallback: http.portFallback }, (port) =>
      new Promise<void>((resolve, reject) => {
        const failed = (error: Error) => reject(error);
        this.server.once('error', failed);
        this.server.listen({ host, port }, () => {
          this.server.off('error', failed);
          resolve();
        });
      }),
    );
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting connections, closes the idle ones, and the rest once their requests end (or after a short grace). */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const grace = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
      grace.unref();
      this.server.close((error) => {
        clearTimeout(grace);
        if (error) reject(error);
        else resolve();
      });
      this.server.closeIdleConnections();
    });
  }
}
