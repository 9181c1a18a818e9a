import { Chalk } from 'chalk';
import { InvalidArgumentError, type Command } from 'commander';
import { MEMORY_ROLES } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import { plural } from '../../platform/plural.js';
import { apiBase as clientApiBase, call as apiCall } from '../api-client.js';
import { useColor, writeJson } from '../output.js';
import { runAction } from '../run-action.js';
import { unknownNameHint } from '../suggest.js';
import { withConfigOption } from '../config-option.js';

interface MemoryFlags {
  key: string;
  json?: boolean;
  apiUrl?: string;
}

type Data = Record<string, unknown>;

const apiBase = (projectArg: string | undefined, flags: MemoryFlags) => clientApiBase(projectArg, flags, 'read its memories from');

/** One call to the memory API; an unknown memory gets the nearest id and the list as its hint. */
async function call(base: string, memory: string, method: 'GET' | 'POST', path: string, body?: Data): Promise<Data> {
  try {
    return await apiCall(base, method, `/api/v0/memory/${encodeURIComponent(memory)}/${path}`, body);
  } catch (error) {
    const known = error instanceof CompozyError && error.code === 'MEMORY_NOT_FOUND' ? error.details?.known : undefined;
    if (!Array.isArray(known)) throw error;
    throw new CompozyError('MEMORY_NOT_FOUND', (error as CompozyError).message, { hint: unknownNameHint(memory, known as string[], 'memories'), details: (error as CompozyError).details });
  }
}

function integer(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number ≥ 0.`);
    return Number(value);
  };
}

/** Reads all of stdin (the content of `append` when --content is not given). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const chalkFor = () => new Chalk({ level: useColor() ? 1 : 0 });
const label = (memory: string, key: string) => `${memory} "${key}"`;
const write = (text: string) => process.stdout.write(`${text}\n`);

/** Messages as a numbered list: position, role, then the content (continuation lines under it). */
function renderMessages(data: Data, memory: string): string {
  const chalk = chalkFor();
  const messages = (data.messages ?? []) as Array<{ role: string; content: string }>;
  const offset = Number(data.offset ?? 0);
  const total = Number(data.total_count ?? messages.length);
  const head = messages.length === 0 ? `${label(memory, String(data.key))}: no messages${total > 0 ? ` at offset ${offset} (${plural(total, 'message')} in all)` : ''}` : `${label(memory, String(data.key))}: messages ${offset + 1}–${offset + messages.length} of ${total}`;
  const width = String(offset + messages.length).length;
  const roleWidth = Math.max(...MEMORY_ROLES.map((r) => r.length));
  const indent = ' '.repeat(width + roleWidth + 4);
  const lines = messages.map((m, i) => {
    const [first = '', ...rest] = m.content.split('\n');
    return `${chalk.dim(String(offset + i + 1).padStart(width))}  ${chalk.bold(m.role.padEnd(roleWidth))}  ${first}${rest.map((line) => `\n${indent}${line}`).join('')}`;
  });
  const more = data.has_more === true ? [chalk.dim(`… ${plural(total - offset - messages.length, 'more message')}: --offset ${offset + messages.length}`)] : [];
  const skipped = Array.isArray(data.skipped) && data.skipped.length > 0 ? [chalk.yellow(`! ${plural(data.skipped.length, 'stored message')} could not be decoded and ${data.skipped.length === 1 ? 'was' : 'were'} skipped`)] : [];
  return [head, ...lines, ...more, ...skipped].join('\n');
}

function roles(distribution: unknown): string {
  const entries = Object.entries((distribution ?? {}) as Record<string, number>);
  return entries.length === 0 ? 'none' : entries.map(([role, count]) => `${role} ${count}`).join(', ');
}

function renderStats(data: Data, memory: string): string {
  const chalk = chalkFor();
  const row = (name: string, value: string) => `  ${chalk.dim(name.padEnd(16))}${value}`;
  if (Array.isArray(data.results)) {
    const results = data.results as Data[];
    return [
      `${memory} conversations matching "${String(data.key)}": ${results.length}, ${plural(Number(data.message_count ?? 0), 'message')}, ${plural(Number(data.token_count ?? 0), 'token')}`,
      ...results.map((r) => row(String(r.key), `${plural(Number(r.message_count), 'message')}, ${plural(Number(r.token_count), 'token')}; ${roles(r.role_distribution)}`)),
    ].join('\n');
  }
  const utilization = typeof data.token_utilization === 'number' ? ` (${(data.token_utilization * 100).toFixed(1)}%)` : '';
  const page = data.pagination_info as { offset: number; limit: number; total_count: number } | undefined;
  return [
    label(memory, String(data.key)),
    row('messages', String(data.message_count)),
    row('tokens', `${String(data.token_count)} of ${String(data.token_limit)}${utilization}`),
    row('avg tokens/msg', String(data.avg_tokens_per_message)),
    row('strategy', String(data.actual_strategy)),
    row('last flush', typeof data.last_flush === 'string' ? data.last_flush : 'never'),
    row('roles', `${roles(data.role_distribution)}${page ? chalk.dim(` (messages ${page.offset + 1}–${Math.min(page.offset + page.limit, page.total_count)} of ${page.total_count})`) : ''}`),
  ].join('\n');
}

const ROLE_LIST = MEMORY_ROLES.join(', ');

export function registerMemory(program: Command): void {
  const memory = program
    .command('memory')
    .description("Inspect and edit a project's conversation memories through the API of its running `compozy dev` (or --api-url)");

  const common = (command: Command) =>
    withConfigOption(command)
      .requiredOption('--key <key>', 'the conversation key, e.g. user:42 (stats and clear also take a glob such as user:*)')
      .option('--api-url <url>', 'a compozy API to use instead of the running compozy dev of the project')
      .option('--json', 'print the API answer as JSON');

  common(memory.command('read <memory> [project]').description('Show the messages of a conversation, oldest first'))
    .option('--limit <n>', 'messages to show (1 to 1000)', integer('--limit'), 50)
    .option('--offset <n>', 'messages to skip from the oldest', integer('--offset'), 0)
    .action((ref: string, projectArg: string | undefined, flags: MemoryFlags & { limit: number; offset: number }) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags);
        const data = await call(base, ref, 'GET', `read?${new URLSearchParams({ key: flags.key, limit: String(flags.limit), offset: String(flags.offset) })}`);
        if (flags.json) writeJson(data);
        else write(renderMessages(data, ref));
      }),
    );

  common(memory.command('append <memory> [project]').description('Append one message to a conversation (the content from --content, or from stdin)'))
    .option('--role <role>', `the message role: ${ROLE_LIST}`, 'user')
    .option('--content <text>', 'the message text (default: read from stdin)')
    .action((ref: string, projectArg: string | undefined, flags: MemoryFlags & { role: string; content?: string }) =>
      runAction(Boolean(flags.json), async () => {
        if (!(MEMORY_ROLES as readonly string[]).includes(flags.role)) throw new CompozyError('USAGE', `--role must be one of ${ROLE_LIST}, got "${flags.role}".`);
        if (flags.content === undefined && process.stdin.isTTY) throw new CompozyError('USAGE', 'append needs the message text.', { hint: 'Give --content "…", or pipe the text on stdin.' });
        const content = flags.content ?? (await readStdin()).replace(/\r?\n$/, '');
        if (content.trim() === '') throw new CompozyError('USAGE', `The message text is empty (from ${flags.content === undefined ? 'stdin' : '--content'}).`);
        const base = await apiBase(projectArg, flags);
        const data = await call(base, ref, 'POST', 'append', { key: flags.key, messages: [{ role: flags.role, content }] });
        if (flags.json) writeJson(data);
        else write(`${chalkFor().green('✔')} appended ${plural(Number(data.appended), 'message')} to ${label(ref, flags.key)} (${Number(data.total_count)} in all)`);
      }),
    );

  common(memory.command('clear <memory> [project]').description('Delete every message of a conversation (needs --confirm)'))
    .option('--confirm', 'really clear it')
    .option('--backup', 'keep a copy of the messages for 24 h')
    .action((ref: string, projectArg: string | undefined, flags: MemoryFlags & { confirm?: boolean; backup?: boolean }) =>
      runAction(Boolean(flags.json), async () => {
        if (!flags.confirm) throw new CompozyError('USAGE', `Clearing ${label(ref, flags.key)} deletes its messages for good.`, { hint: 'Add --confirm (and --backup to keep a copy for 24 h).' });
        const base = await apiBase(projectArg, flags);
        const data = await call(base, ref, 'POST', 'clear', { key: flags.key, confirm: true, ...(flags.backup ? { backup: true } : {}) });
        if (flags.json) writeJson(data);
        else {
          const where = Array.isArray(data.results) ? `${plural(Number(data.key_count), 'conversation')} of ${ref} matching "${flags.key}"` : label(ref, flags.key);
          const backup = Array.isArray(data.results) ? (data.results as Data[]).some((r) => r.backup_created === true) : data.backup_created === true;
          write(`${chalkFor().green('✔')} cleared ${plural(Number(data.messages_cleared), 'message')} from ${where}${backup ? '; a backup is kept for 24 h' : ''}`);
        }
      }),
    );

  common(memory.command('stats <memory> [project]').description('Show the counters of a conversation: messages, tokens, roles, strategy, last flush'))
    .action((ref: string, projectArg: string | undefined, flags: MemoryFlags) =>
      runAction(Boolean(flags.json), async () => {
        const base = await apiBase(projectArg, flags);
        const data = await call(base, ref, 'GET', `stats?${new URLSearchParams({ key: flags.key })}`);
        if (flags.json) writeJson(data);
        else write(renderStats(data, ref));
      }),
    );
}
