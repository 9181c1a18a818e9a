import type { NativeToolsConfig } from '../../config/native-tools.js';
import { errorMessage } from '../../errors.js';
import { nativeError } from './errors.js';

const TOOL = 'cp__fetch';

export interface FetchInput {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeout_ms?: number;
}

/** Go's canonical MIME header key: content-type → Content-Type. */
function canonical(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase()).join('-');
}

async function readLimited(response: Response, limit: number): Promise<{ body: string; truncated: boolean }> {
  if (!response.body) return { body: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = limit - size;
    if (value.length > room) {
      chunks.push(value.subarray(0, room));
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  return { body: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** cp__fetch (Go engine engine/tool/builtin/fetch): one HTTP(S) request within the method allow-list, timeout, body and redirect limits. */
export async function fetchUrl(config: NativeToolsConfig, input: FetchInput, capMs?: number): Promise<Record<string, unknown>> {
  const method = (input.method ?? '').trim().toUpperCase() || 'GET';
  if (!config.fetch.allowedMethods.includes(method)) throw nativeError(TOOL, 'InvalidArgument', `method ${method} is not allowed (allowed: ${config.fetch.allowedMethods.join(', ') || 'none'})`, { method });
  if ((method === 'GET' || method === 'HEAD') && input.body !== undefined && input.body !== null) throw nativeError(TOOL, 'InvalidArgument', `a request body is not permitted for ${method}`, { method });
  let target: URL;
  try {
    target = new URL(input.url.trim());
  } catch {
    throw nativeError(TOOL, 'InvalidArgument', `invalid url "${input.url}"`, { url: input.url });
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw nativeError(TOOL, 'InvalidArgument', 'only http and https schemes are supported', { scheme: target.protocol.replace(/:$/, '') });
  const headers = new Headers();
  for (const [key, value] of Object.entries(input.headers ?? {})) if (key.trim() !== '') headers.set(key, value);
  let body: string | undefined;
  if (input.body !== undefined && input.body !== null) {
    if (typeof input.body === 'string') body = input.body;
    else {
      body = JSON.stringify(input.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
  }
  const timeoutMs = Math.min(...[config.fetch.timeoutMs, input.timeout_ms, capMs].filter((t): t is number => t !== undefined && t > 0));
  const signal = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  let response: Response;
  try {
    let url = target;
    let redirects = 0;
    let currentMethod = method;
    let currentBody = body;
    for (;;) {
      response = await fetch(url, { method: currentMethod, headers, ...(currentBody !== undefined ? { body: currentBody } : {}), redirect: 'manual', signal });
      const location = response.headers.get('location');
      // Go's CheckRedirect: after max_redirects hops the last response is returned as it is.
      if (response.status < 300 || response.status > 399 || !location || redirects >= config.fetch.maxRedirects) break;
      await response.body?.cancel();
      redirects++;
      url = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && currentMethod === 'POST')) {
        currentMethod = 'GET';
        currentBody = undefined;
      }
    }
  } catch (error) {
    if (signal.aborted) throw nativeError(TOOL, 'Internal', `request timeout after ${timeoutMs} ms`, { timeout: true });
    throw nativeError(TOOL, 'Internal', `http request failed: ${errorMessage((error as { cause?: unknown }).cause ?? error)}`);
  }
  const { body: text, truncated } = await readLimited(response, config.fetch.maxBodyBytes);
  const flat: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    flat[canonical(key)] = value;
  });
  return {
    status_code: response.status,
    status_text: `${response.status} ${response.statusText}`.trim(),
    headers: flat,
    body: text,
    body_truncated: truncated,
    duration_ms: Math.round(performance.now() - started),
  };
}
