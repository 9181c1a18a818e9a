import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CompozyError, errorMessage } from '../errors.js';

/**
 * The API key the CLI client sends: COMPOZY_API_KEY, else the one `compozy auth login` stored in
 * `${XDG_CONFIG_HOME:-~/.config}/compozy/credentials.json` (mode 0600, refused when others can read it).
 */

export const API_KEY_ENV = 'COMPOZY_API_KEY';

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'compozy', 'credentials.json');
}

function storedKey(file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CompozyError('CONFIG_INVALID', `Cannot read the stored API key ${file}: ${errorMessage(error)}`, { hint: 'Fix its permissions, or run `compozy auth login` again.' });
  }
  if ((mode & 0o077) !== 0) {
    throw new CompozyError('CONFIG_INVALID', `The stored API key ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}), so it is not used.`, { hint: `Run \`chmod 600 ${file}\`, or \`compozy auth login\` again.` });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CompozyError('CONFIG_INVALID', `The stored API key ${file} is not valid JSON: ${errorMessage(error)}`, { hint: 'Run `compozy auth login` again.' });
  }
  const key = (parsed as { api_key?: unknown } | null)?.api_key;
  if (typeof key !== 'string' || key === '') throw new CompozyError('CONFIG_INVALID', `The stored API key ${file} has no api_key.`, { hint: 'Run `compozy auth login` again.' });
  return key;
}

/** The key to send, or undefined when there is none. */
export function clientApiKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[API_KEY_ENV]?.trim();
  return fromEnv ? fromEnv : storedKey(credentialsFile(env));
}

/** `Authorization: Bearer <key>` when there is a key to send. */
export function authHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const key = clientApiKey(env);
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Writes the key for later commands: the folder 0700, the file 0600 from its first byte, replaced atomically. */
export function saveApiKey(key: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify({ api_key: key })}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}
