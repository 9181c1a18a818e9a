import { Chalk } from 'chalk';
import { InvalidArgumentError, type Command } from 'commander';
import { MEMORY_ROLES } from '../../config/types.js';
import { CompozyError, type ErrorCode } from '../../errors.js';
import { authHeaders } from '../../platform/credentials.js';
import { plural } from '../../platform/plural.js';
import { projectArgument } from '../../platform/project-argument.js';
import { devApi } from '../dev-api.js';
import { useColor, writeJson } from '../output.js';
import { openProject } from '../project-context.js';
import { runAction } from '../run-action.js';
import { unknownNameHint } from '../suggest.js';
import { withConfigOption } from '../config-option.js';

interface MemoryFlags {
  key: string;
  json?: boolean;
  apiUrl?: string;
}

interface Envelope {
  status?: number;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

type Data = Record<string, unknown>;

/** The API to talk to: --api-url, else the running `compozy dev` of the project; NOT_RUNNING when there is none. */
async function apiBase(projectArg: string | undefined, flags: MemoryFlags): Promise<string> {
  if (flags.apiUrl !== undefined) {
    try {
      return new URL(flags.apiUrl).href.replace(/\/$/, '');
    } catch {
      throw new CompozyError('USAGE', `--api-url "${flags.apiUrl}" is not a URL.`, { hint: 'Give it like http://127.0.0.1:5001.' });
    }
  }
  const { project, stateDir } = openProject(projectArg);
  const start = `Start it with \`compozy dev${projectArgument(project.dir)}\`, or give --api-url for a server started another way (compozy start, compozy serve).`;
  const api = await devApi(stateDir);
  switch (api.state) {
    case 'none':
      throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir}), so there is no API to read its memories from.`, { hint: start });
    case 'stale':
      throw new CompozyError('NOT_RUNNING', `compozy dev is not running for ${project.name} (${project.dir}); the state file names pid ${api.supervisorPid}, which has exited.`, { hint: start });
    case 'unreachable':
      throw new CompozyError('NOT_RUNNING', `compozy dev (pid ${api.supervisorPid}) runs for ${project.name}, but its API at ${api.url} does not answer: ${api.reason}.`, {
        hint: `It may be restarting its server; \`compozy status${projectArgument(project.dir)}\` shows its components.`,
      });
    case 'up':
      return api.url;
  }
}

/** One call to the memory API; its error envelope becomes the same typed error (code, message, hint). */
async function call(base: string, memory: string, method: 'GET' | 'POST', path: string, body?: Data): Promise<Data> {
  const headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...authHeaders() };
  const url = `${base}/api/v0/memory/${encodeURIComponent(memory)}/${path}`;
  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CompozyError('NOT_RUNNING', `The compozy API at ${base} does not answer (${(error as Error).message}).`, { hint: 'Start it with `compozy dev`, or check --api-url.', cause: error });
  }
  const answer = (await response.json().catch(() => undefined)) as Envelope | undefined;
  if (answer === undefined) throw new CompozyError('CHECK_FAILED', `${method} ${url} answered ${response.status} without a JSON body: is ${base} a compozy API?`);
  if (!response.ok || answer.error || !answer.data) {
    const details = answer.error?.details ?? {};
    const known = Array.isArray(details.known) ? (details.known as string[]) : undefined;
    const hint = answer.error?.code === 'MEMORY_NOT_FOUND' && known ? unknownNameHint(memory, known, 'memories') : typeof details.hint === 'string' ? details.hint : undefined;
    throw new CompozyError((answer.error?.code ?? 'CHECK_FAILED') as ErrorCode, answer.error?.message ?? `${method} ${url} answered ${response.status}.`, { ...(hint ? { hint } : {}), details });
  }
  return answer.data;
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
