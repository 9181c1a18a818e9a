import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CompozyError, errorMessage } from '../errors.js';

/**
 * A JSON value given inline (`--input '{…}'`) or in a file (`--input-file f.json`), parsed once at the
 * edge; `fallback` when neither is given. `flag` names the inline option in messages (--input, --payload).
 */
export function jsonOption(flag: string, inline: string | undefined, file: string | undefined, fallback: unknown): unknown {
  if (inline !== undefined && file !== undefined) throw new CompozyError('USAGE', `Give ${flag} or ${flag}-file, not both.`);
  if (inline === undefined && file === undefined) return fallback;
  let text = inline ?? '';
  const origin = file ?? flag;
  if (file !== undefined) {
    const path = resolve(file);
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CompozyError('USAGE', `${flag}-file ${file} does not exist (${path}).`, { hint: `Give a path from the current folder (${process.cwd()}) or an absolute one.` });
      throw new CompozyError('USAGE', `Cannot read ${flag}-file ${file} (${path}): ${errorMessage(error)}`, {
        hint: code === 'EISDIR' ? 'Give the JSON file, not its folder.' : 'Check that the file is readable.',
      });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CompozyError('USAGE', `${origin} is not JSON: ${errorMessage(error)}`, { hint: `Quote it for the shell, e.g. ${flag} '{"city":"Lisbon"}'.` });
  }
}

/** A JSON option that must be an object (a workflow input, an agent's or tool's `with`). */
export function jsonObjectOption(flag: string, inline: string | undefined, file: string | undefined): Record<string, unknown> {
  const value = jsonOption(flag, inline, file, {});
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CompozyError('USAGE', `${file ?? flag} must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.`, { hint: `Give it like ${flag} '{"city":"Lisbon"}'.` });
  }
  return value as Record<string, unknown>;
}
