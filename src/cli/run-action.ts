import { exitCodeFor } from '../errors.js';
import { errorJson, formatError, useColor, writeJson } from './output.js';

/**
 * Runs a command body and maps a thrown error to its message and exit code, in one place for
 * every command. With --json the error is a JSON object on stdout.
 */
export async function runAction(json: boolean, body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    if (typeof code === 'number') process.exitCode = code;
  } catch (error) {
    if (json) writeJson(errorJson(error));
    else process.stderr.write(`${formatError(error, useColor(process.stderr))}\n`);
    process.exitCode = exitCodeFor(error);
  }
}
