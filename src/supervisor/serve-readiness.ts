import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';
import type { HealthReport } from '../health.js';
import { authHeaders } from '../platform/credentials.js';
import { httpRequest, jsonOf } from '../platform/http-request.js';
import type { FirstWorkflow } from './first-lines.js';
import { readServeReport, removeServeReport, reportedError } from './serve-report.js';

export interface ServeIdentity {
  pid: number;
  nonce: string;
}

/**
 * How often the report and /readyz are looked at: dev is ready the moment serve is, not up to a
 * poll later. A look is a file read or one local HTTP request (~1 ms of CPU on each side).
 */
const POLL_MS = 10;

function deadlineError(what: string, timeoutMs: number, last: string): CompozyError {
  return new CompozyError('PROCESS_START_FAILED', `serve did not ${what} within ${Math.round(timeoutMs / 1000)} s (${last}).`, {
    hint: 'Look at .compozy/logs/serve.log, or run `compozy doctor`.',
  });
}

/**
 * Waits for serve's report of the address it bound (or of why it could not start), written to
 * `reportPath` by the process we started and no other.
 */
export async function waitForServeReport(reportPath: string, identity: ServeIdentity, timeoutMs: number, abort: AbortSignal): Promise<{ url: string; port: number; firstWorkflow?: FirstWorkflow }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The report is read before the abort is looked at: a serve that fails writes its reason and
    // then exits, and that exit must not hide the reason it wrote.
    const report = readServeReport(reportPath);
    if (report) {
      removeServeReport(reportPath);
      if (report.pid !== identity.pid || report.nonce !== identity.nonce) {
        throw new CompozyError('PROCESS_START_FAILED', `${reportPath} was written by pid ${report.pid}, not by the serve this run started (pid ${identity.pid}).`);
      }
      if ('error' in report) throw reportedError(report);
      return { url: report.url, port: report.port, ...(report.firstWorkflow ? { firstWorkflow: report.firstWorkflow } : {}) };
    }
    if (abort.aborted) throw abort.reason;
    await sleep(POLL_MS);
  }
  throw deadlineError('report its address', timeoutMs, 'no report yet');
}

/**
 * Polls `<url>/readyz` until our own serve answers ready: a 200 from any other process (another
 * project's server, a leftover, anything on that port) has the wrong pid or nonce and does not count.
 */
export async function waitForOwnServer(url: string, identity: ServeIdentity, timeoutMs: number, abort: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (abort.aborted) throw abort.reason;
    try {
      const response = await httpRequest(`${url}/readyz`, { timeoutMs: 1000 });
      const body = jsonOf<{ status?: string; reason?: string; pid?: unknown; nonce?: unknown }>(response) ?? {};
      if (body.pid !== identity.pid || body.nonce !== identity.nonce) {
        last = `${url} is answered by another process${typeof body.pid === 'number' ? ` (pid ${body.pid})` : ''}, not by the serve this run started (pid ${identity.pid})`;
      } else if (response.ok) {
        return;
      } else {
        last = `${response.status} ${body.reason ?? ''}`.trim();
      }
    } catch (error) {
      last = errorMessage(error);
    }
    await sleep(POLL_MS);
  }
  throw deadlineError(`become ready at ${url}`, timeoutMs, last);
}

/**
 * serve's health report. Once serve answered ready the platform is up, so a health route that does
 * not answer within timeoutMs (or fails) gives a report that says so instead of none: the `ready`
 * event and the table still come, with the api row degraded and `unread` saying why.
 */
export async function readServeHealth(apiUrl: string, who: { mode: string; project: string }, timeoutMs = 5000): Promise<{ health: HealthReport; unread?: string }> {
  try {
    const response = await httpRequest(`${apiUrl}/api/v0/health`, { headers: authHeaders(), timeoutMs });
    const health = jsonOf<{ data?: HealthReport }>(response)?.data;
    if (!health) throw new Error(`it answered ${response.status} without a health report`);
    return { health };
  } catch (error) {
    const unread = `could not read ${apiUrl}/api/v0/health: ${errorMessage(error)}`;
    return { health: { ...who, status: 'degraded', components: [{ name: 'api', backend: 'fastify', state: 'degraded', address: apiUrl, detail: unread }] }, unread };
  }
}
