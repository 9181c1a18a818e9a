import { connect, createServer } from 'node:net';
import getPort, { portNumbers } from 'get-port';
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

/**
 * The API port: an explicit port must be free (fail, naming who holds it); otherwise the default
 * or the next free one after it. Port 0 means any free port.
 */
export async function chooseApiPort(requested: { port: number; explicit: boolean }, host = '127.0.0.1'): Promise<number> {
  if (requested.port === 0) return freePort(host);
  if (requested.explicit) {
    if (await isPortFree(requested.port, host)) return requested.port;
    throw new CompozyError('PORT_IN_USE', `Port ${requested.port} is already in use${describeHolder(requested.port)}.`, {
      hint: 'Stop that process, or choose another port with --port (or omit --port to take the next free one).',
      details: { port: requested.port },
    });
  }
  return getPort({ port: portNumbers(requested.port, Math.min(65535, requested.port + 100)), host });
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
