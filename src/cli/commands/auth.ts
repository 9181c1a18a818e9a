import type { Command } from 'commander';
import { Option } from 'commander';
import { isValidDuration, parseDuration } from '../../config/duration.js';
import { CompozyError } from '../../errors.js';
import { credentialsFile, saveApiKey } from '../../platform/credentials.js';
import { projectArgument } from '../../platform/project-argument.js';
import { API_KEY_SCOPES, type ApiKeyRecord, type ApiKeyScope, type ApiKeyStore } from '../../store/api-keys.js';
import { table, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { withConfigOption } from '../config-option.js';

interface StoreFlags {
  mode?: string;
  json?: boolean;
}

/** The API keys of the store this project's server uses (the same settings: mode, database.driver, DATABASE_URL). */
async function withKeys<T>(projectArg: string | undefined, flags: StoreFlags, body: (keys: ApiKeyStore, dir: string) => Promise<T>): Promise<T> {
  const { settings, stateDir, project } = openProject(projectArg, flags);
  const { openStore } = await import('../../server/open-store.js');
  const store = await openStore(settings, stateDir);
  try {
    if (!store.apiKeys) throw new CompozyError('CONFIG_INVALID', 'This execution store keeps no API keys.', { hint: 'Use the SQLite or PostgreSQL store.' });
    return await body(store.apiKeys, project.dir);
  } finally {
    await store.close();
  }
}

/** `--expires`: a duration from now (720h, 90m) or a date/time in the future. */
function expiry(text: string | undefined, now = Date.now()): string | null {
  if (text === undefined) return null;
  const at = isValidDuration(text) ? now + parseDuration(text) : Date.parse(text);
  if (Number.isNaN(at)) throw new CompozyError('USAGE', `--expires must be a duration such as 720h or a date such as 2027-01-31, got "${text}".`);
  if (at <= now) throw new CompozyError('USAGE', `--expires ${text} is in the past.`, { hint: 'Give a later date, or a duration from now such as 720h.' });
  return new Date(at).toISOString();
}

function status(key: ApiKeyRecord, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt) return 'revoked';
  return key.expiresAt !== null && Date.parse(key.expiresAt) <= now ? 'expired' : 'active';
}

async function readKey(): Promise<string> {
  if (process.stdin.isTTY) {
    const { password } = await import('@inquirer/prompts');
    return password({ message: 'API key (cpzy_…)', mask: true });
  }
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.trim();
}

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description("Manage the API keys of a project's store (needed when the API listens beyond loopback)");
  const modeOption = () => new Option('--mode <mode>', 'whose store: standalone (.compozy/compozy.db) or distributed (DATABASE_URL), as the server runs');

  withConfigOption(auth.command('create-key [project]'))
    .description('Create an API key and print it once (only its digest is stored)')
    .option('--name <name>', 'what the key is for', '')
    .addOption(new Option('--scope <scope>', 'read: GET routes; execute: also start, signal and cancel; admin: also clear/delete memory').choices([...API_KEY_SCOPES]).default('execute'))
    .option('--expires <when>', 'a duration from now (720h) or a date (2027-01-31); default: never')
    .addOption(modeOption())
    .option('--json', 'print {key, id, name, scope, expires_at} as JSON')
    .action((projectArg: string | undefined, flags: StoreFlags & { name: string; scope: ApiKeyScope; expires?: string }) =>
      runAction(Boolean(flags.json), async () => {
        const expiresAt = expiry(flags.expires);
        const { createKey } = await import('../../server/auth/keys.js');
        const { record, key, dir } = await withKeys(projectArg, flags, async (keys, dir) => ({ ...(await createKey(keys, { name: flags.name, scope: flags.scope, expiresAt })), dir }));
        if (flags.json) writeJson({ key, id: record.id, name: record.name, scope: record.scope, created_at: record.createdAt, expires_at: record.expiresAt });
        else {
          process.stdout.write(`${key}\n`);
          process.stderr.write(`• API key ${record.id} (${record.scope}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}) created. It is shown only now: store it, e.g. \`compozy auth login\` or COMPOZY_API_KEY.\n`);
          process.stderr.write(`  Revoke it with \`compozy auth revoke ${record.id}${projectArgument(dir)}\`.\n`);
        }
      }),
    );

  withConfigOption(auth.command('list-keys [project]'))
    .description('List the API keys: id, name, scope, created, expires, last used, status (never the keys)')
    .addOption(modeOption())
    .option('--json', 'print [{id, name, scope, created_at, expires_at, last_used_at, revoked_at, status}] as JSON')
    .action((projectArg: string | undefined, flags: StoreFlags) =>
      runAction(Boolean(flags.json), async () => {
        const keys = await withKeys(projectArg, flags, (store) => store.listApiKeys());
        if (flags.json) {
          writeJson(keys.map((k) => ({ id: k.id, name: k.name, scope: k.scope, created_at: k.createdAt, expires_at: k.expiresAt, last_used_at: k.lastUsedAt, revoked_at: k.revokedAt, status: status(k) })));
          return;
        }
        if (keys.length === 0) {
          process.stdout.write('No API keys. Create one with `compozy auth create-key`.\n');
          return;
        }
        const rows = keys.map((k) => [k.id, k.name || '-', k.scope, k.createdAt, k.expiresAt ?? 'never', k.lastUsedAt ?? 'never', status(k)]);
        process.stdout.write(`${table([['ID', 'NAME', 'SCOPE', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS'], ...rows])}\n`);
      }),
    );

  withConfigOption(auth.command('revoke <id> [project]'))
    .description('Revoke an API key: from now on it is refused like a key that never existed')
    .addOption(modeOption())
    .option('--json', 'print the revoked key as JSON')
    .action((id: string, projectArg: string | undefined, flags: StoreFlags) =>
      runAction(Boolean(flags.json), async () => {
        const revoked = await withKeys(projectArg, flags, (store) => store.revokeApiKey(id));
        if (!revoked) throw new CompozyError('USAGE', `No API key has id ${id}.`, { hint: '`compozy auth list-keys` shows the ids.' });
        if (flags.json) writeJson({ id: revoked.id, name: revoked.name, scope: revoked.scope, revoked_at: revoked.revokedAt });
        else process.stdout.write(`• API key ${revoked.id} revoked (${revoked.revokedAt}).\n`);
      }),
    );

  auth
    .command('login')
    .description(`Store an API key (read from stdin, or asked for at a terminal) in ${credentialsFile()} (mode 0600) for the CLI client; COMPOZY_API_KEY wins over it`)
    .option('--json', 'print {file} as JSON')
    .action((flags: { json?: boolean }) =>
      runAction(Boolean(flags.json), async () => {
        const key = await readKey();
        const { keyId } = await import('../../server/auth/keys.js');
        if (keyId(key) === undefined) throw new CompozyError('USAGE', 'That is not a compozy API key (cpzy_<id>_<secret>, as `compozy auth create-key` prints).', { hint: 'Pipe the key in: `compozy auth login < key.txt`.' });
        const file = saveApiKey(key);
        if (flags.json) writeJson({ file });
        else process.stdout.write(`• API key ${keyId(key)} stored in ${file}.\n`);
      }),
    );
}
