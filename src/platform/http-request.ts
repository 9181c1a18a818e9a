import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  ok: boolean;
  text: string;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/**
 * One plain-HTTP request to a local server, over node:http. The probes `compozy dev`'s supervisor
 * makes while its children start (Temporal's HTTP API, serve's /readyz and health) use it instead of
 * fetch, whose first call in a process loads undici: ~50 ms of CPU taken from the children.
 * Rejects with the socket's error (its `code`, e.g. ECONNREFUSED) or with a timeout naming timeoutMs.
 */
export function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers, ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}) };
    const req = request(url, { method: options.method ?? 'GET', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' })), options.timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end(options.body);
  });
}

/** The answer's body as JSON, or undefined when it is not JSON. */
export function jsonOf<T>(answer: HttpAnswer): T | undefined {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    return undefined;
  }
}
