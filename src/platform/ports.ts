import { connect, createServer } from 'node:net';
import getPort from 'get-port';
import { CompozyError } from '../errors.js';
import { pidListeningOn, commandLineOf } from './pids.js';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

function describeHolder(port: number): string {
  const pid = pidListeningOn(port);
  if (pid === undefined) return '';
  const command = commandLineOf(pid)?.slice(0, 3).join(' ');
  return ` by pid ${pid}${command ? ` (${command})` : ''}`;
}

/** PORT_IN_USE for a port another process holds, naming that process where /proc can tell. */
export function portInUseError(port: number, fallback: boolean): CompozyError {
  const message = fallback
    ? `Ports ${port}-${Math.min(65535, port + FALLBACK_RANGE)} are all in use.`
    : `Port ${port} is already in use${describeHolder(port)}.`;
  return new CompozyError('PORT_IN_USE', message, {
    hint: fallback ? 'Choose a port with --port, or --port 0 for any free one.' : 'Stop that process, or choose another port with --port (or omit --port to take the next free one).',
    details: { port },
  });
}

/** How many ports after the default a server tries before giving up. */
export const FALLBACK_RANGE = 100;

export interface PortRequest {
  /** 0 means any free port. */
  port: number;
  /** On EADDRINUSE try the next ports (when no port was asked for); otherwise the port is required. */
  fallback: boolean;
}

/**
 * Binds by trying: `listen(port)` is the server's own bind, so no other process can take the port
 * between a check and the bind. Resolves with the port that was bound (the caller reads the real
 * one from its socket when it asked for 0).
 */
export async function bindPort(request: PortRequest, listen: (port: number) => Promise<void>): Promise<number> {
  const last = request.fallback && request.port !== 0 ? Math.min(65535, request.port + FALLBACK_RANGE) : request.port;
  for (let port = request.port; port <= last; port++) {
    try {
      await listen(port);
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw portInUseError(request.port, request.fallback && request.port !== 0);
}

/** A free port for an internal listener (Temporal gRPC, UI). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return getPort({ host });
}

/** Whether anything accepts TCP connections at host:port within the timeout. */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (open: boolean) => {
      socket.destroy();
      resolvePromise(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
