import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { CompozyError, errorMessage, type ErrorCode } from '../errors.js';
import type { FirstWorkflow } from './first-lines.js';

/** Environment through which a supervisor asks its serve child to report where it listens. */
export const SERVE_REPORT_ENV = 'COMPOZY_SERVE_REPORT';
export const RUN_NONCE_ENV = 'COMPOZY_RUN_NONCE';

/** How serve's log line that says the project was reloaded (watch mode) begins: the supervisor shows the health table again on it. */
const RELOAD_NOTICE = '↻ reloaded ';

export function isReloadNotice(line: string): boolean {
  return line.startsWith(RELOAD_NOTICE);
}

/**
 * What serve writes once it has bound its port (or failed to start): the supervisor learns the real
 * address from the server itself instead of guessing a free port beforehand, and the project's first
 * workflow (for the start lines) from the project serve loaded and validated.
 */
export type ServeReport =
  | { pid: number; nonce: string; url: string; port: number; firstWorkflow?: FirstWorkflow }
  | { pid: number; nonce: string; error: { code: string; message: string; hint?: string; details?: Record<string, unknown> } };

/** Written atomically: the supervisor never reads half a report. */
export function writeServeReport(path: string, report: ServeReport): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(report)}\n`);
  renameSync(temp, path);
}

export function serveFailureReport(pid: number, nonce: string, error: unknown): ServeReport {
  if (error instanceof CompozyError) {
    return { pid, nonce, error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), ...(error.details ? { details: error.details } : {}) } };
  }
  return { pid, nonce, error: { code: 'PROCESS_START_FAILED', message: errorMessage(error) } };
}

/** The report once it exists, undefined before. */
export function readServeReport(path: string): ServeReport | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as ServeReport;
}

export function removeServeReport(path: string): void {
  rmSync(path, { force: true });
}

/** A start-up failure serve reported, as the typed error it was. */
export function reportedError(report: Extract<ServeReport, { error: unknown }>): CompozyError {
  const { code, message, hint, details } = report.error;
  return new CompozyError(code as ErrorCode, message, { ...(hint ? { hint } : {}), ...(details ? { details } : {}) });
}
