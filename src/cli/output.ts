import { Chalk } from 'chalk';
import { stripVTControlCharacters } from 'node:util';
import { CompozyError, errorMessage } from '../errors.js';

/** Colour and decoration only for a person at a terminal: not when piped, not under CI, not with NO_COLOR. */
export function useColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isInteractive(stream, env);
}

/** Output redrawn in place (a live view) only for a person at a terminal: not when piped, not under CI. */
export function isInteractive(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0') return false;
  return stream.isTTY === true;
}

/** Whether a live view can be drawn on stdout: interactive, and a terminal with a size (a pty nobody sized has 0 rows). */
export function canRedraw(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return isInteractive(stream, env) && (stream.rows ?? 0) > 0;
}

/** Rows as aligned columns (the first row is the header), two spaces apart. */
export function table(rows: string[][]): string {
  const width = (cell: string) => stripVTControlCharacters(cell).length;
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => width(row[column] ?? ''))));
  return rows.map((row) => row.map((cell, column) => cell + ' '.repeat(Math.max(0, (widths[column] ?? 0) - width(cell)))).join('  ').trimEnd()).join('\n');
}

export function writeJson(value: unknown, stream: NodeJS.WritableStream = process.stdout): void {
  stream.write(`${JSON.stringify(value)}\n`);
}

/** An error as a person reads it: what happened, then what to do. */
export function formatError(error: unknown, color: boolean): string {
  const chalk = new Chalk({ level: color ? 1 : 0 });
  const message = errorMessage(error);
  const hint = error instanceof CompozyError ? error.hint : undefined;
  return `${chalk.red('✗')} ${message}${hint ? `\n  ${chalk.dim('→')} ${hint}` : ''}`;
}

export function errorJson(error: unknown): { error: { code: string; message: string; hint?: string } } {
  const code = error instanceof CompozyError ? error.code : 'INTERNAL';
  const hint = error instanceof CompozyError ? error.hint : undefined;
  return { error: { code, message: errorMessage(error), ...(hint ? { hint } : {}) } };
}
