import { connect, type Socket } from 'node:net';

/** Sends bytes to host:port and resolves with the first reply chunk. */
function exchange(host: string, port: number, payload: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const socket: Socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(payload));
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(data);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function hostPort(url: URL, defaultPort: number): { host: string; port: number } {
  return { host: url.hostname || '127.0.0.1', port: url.port ? Number(url.port) : defaultPort };
}

/** Redis answers a RESP PING with +PONG (or -NOAUTH when a password is needed, which still proves Redis is there). */
export async function pingRedis(urlText: string, timeoutMs = 2000): Promise<string> {
  const url = new URL(urlText);
  const { host, port } = hostPort(url, 6379);
  const reply = (await exchange(host, port, Buffer.from('*1\r\n$4\r\nPING\r\n'), timeoutMs)).toString();
  if (reply.startsWith('+PONG')) return `PONG from ${host}:${port}`;
  if (reply.startsWith('-NOAUTH')) return `Redis at ${host}:${port} (needs auth)`;
  throw new Error(`${host}:${port} answered "${reply.trim().slice(0, 60)}", which is not Redis`);
}

/** A PostgreSQL server answers the 8-byte SSLRequest with a single 'S' or 'N'. */
export async function pingPostgres(urlText: string, timeoutMs = 2000): Promise<string> {
  const url = new URL(urlText);
  const { host, port } = hostPort(url, 5432);
  const request = Buffer.alloc(8);
  request.writeInt32BE(8, 0);
  request.writeInt32BE(80877103, 4);
  const reply = await exchange(host, port, request, timeoutMs);
  const answer = String.fromCharCode(reply[0] ?? 0);
  if (answer === 'S' || answer === 'N') return `PostgreSQL at ${host}:${port}`;
  throw new Error(`${host}:${port} does not speak the PostgreSQL protocol`);
}
