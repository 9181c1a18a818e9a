import { fileURLToPath, pathToFileURL } from 'node:url';
import { cutToJsonBytes, FrameReader, MAX_STACK_BYTES, MAX_RESULT_BYTES, macKey, signedFrame, type CallMessage, type ReplyMessage } from './protocol.js';
import { decodeCall, openWorkerChannel } from './worker-channel.js';

/**
 * A tool worker: loads the project's entrypoint once, then runs one call at a time for its parent.
 * Tools are the entrypoint's default export (an object of functions by id) or its named exports.
 *
 * The parent talks to it on a private socket (fd 3; there is no IPC channel, so no `process.send`).
 * The socket and the key that signs every reply are taken here, before the project's module loads,
 * and are held only in this module's scope. The same worker runs under Bun (runtime.type: bun).
 */
type ToolFunction = (input: unknown, config: unknown) => unknown;

const entrypoint = process.argv[2] as string;
const channel = openWorkerChannel();
// The parent going away (crash, SIGKILL) closes the channel; a worker never outlives it.
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));

let onCall: (message: CallMessage) => void = () => undefined;
// The parent's first frame is the key; every later one is a call.
const key = macKey(await new Promise<Buffer>((resolve) => {
  let received: Buffer | undefined;
  const reader = new FrameReader(
    0xffffffff,
    (payload) => {
      if (received) return onCall(decodeCall(payload));
      received = Buffer.from(payload);
      resolve(received);
    },
    () => process.exit(1),
  );
  channel.on('data', (chunk: Buffer) => reader.push(chunk));
}));

const sendText = (json: string, done?: () => void) => channel.write(signedFrame(key, json), done);
const send = (message: ReplyMessage, done?: () => void) => sendText(JSON.stringify(message), done);
const cutMessage = (text: string) => cutToJsonBytes(text, MAX_RESULT_BYTES);
const cutStack = (text: string) => cutToJsonBytes(text, MAX_STACK_BYTES);

const asPath = (where: string) => (where.startsWith('file://') ? fileURLToPath(where) : where);

/**
 * Where a load error happened: the `file:line` header Node puts on a syntax error it can place, else
 * the first stack frame in the project's code.
 */
function locate(error: unknown): string | undefined {
  // Bun reports a parse error as a BuildMessage, without a stack, with its place in `position` (1-based column).
  const position = (error as { position?: { file?: unknown; line?: unknown; column?: unknown } } | null)?.position;
  if (typeof position?.file === 'string' && typeof position.line === 'number') return `${position.file}:${position.line}:${typeof position.column === 'number' ? position.column : 1}`;
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const header = /^((?:file:\/\/)?\/[^\n]*?):(\d+)\n/.exec(stack);
  if (header?.[1] && header[2]) return `${asPath(header[1])}:${header[2]}`;
  for (const frame of stack.matchAll(/(?:^|[\s(])((?:file:\/\/)?\/[^\s()]+):(\d+):(\d+)/gm)) {
    const file = asPath(frame[1] as string);
    if (file === fileURLToPath(import.meta.url) || file.includes('/node_modules/')) continue;
    return `${file}:${frame[2]}:${frame[3]}`;
  }
  return undefined;
}

let tools: Record<string, ToolFunction>;
try {
  const module = (await import(pathToFileURL(entrypoint).href)) as Record<string, unknown>;
  const exported = module.default !== null && typeof module.default === 'object' ? (module.default as Record<string, unknown>) : module;
  tools = Object.fromEntries(Object.entries(exported).filter((entry): entry is [string, ToolFunction] => typeof entry[1] === 'function'));
  send({ type: 'ready', tools: Object.keys(tools).sort() });
} catch (error) {
  const location = locate(error);
  const failure: ReplyMessage = {
    type: 'load-failed',
    message: cutMessage(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    ...(location ? { location } : {}),
    ...(error instanceof SyntaxError || (error instanceof Error && error.name === 'BuildMessage') ? { syntax: true } : {}),
  };
  // Exit only once the message is out, so the parent learns the cause rather than just an exit code.
  await new Promise<never>(() => send(failure, () => process.exit(1)));
}

onCall = (message) => {
  void (async () => {
    const tool = tools[message.tool];
    if (!tool) {
      send({ type: 'error', id: message.id, code: 'TOOL_NOT_FOUND', message: `The entrypoint exports no tool "${message.tool}" (it has: ${Object.keys(tools).sort().join(', ') || 'none'}).` });
      return;
    }
    let value: unknown;
    const previous = Object.keys(message.env).map((name) => [name, process.env[name]] as const);
    Object.assign(process.env, message.env);
    try {
      value = await tool(message.input, message.config);
    } catch (error) {
      send({ type: 'error', id: message.id, code: 'TOOL_FAILED', message: cutMessage(error instanceof Error ? error.message : String(error)), ...(error instanceof Error && error.stack ? { stack: cutStack(error.stack) } : {}) });
      return;
    } finally {
      for (const [name, value] of previous) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value === undefined ? null : value);
    } catch (error) {
      send({ type: 'error', id: message.id, code: 'TOOL_RESULT_INVALID', message: `The result is not JSON-serialisable: ${(error as Error).message}` });
      return;
    }
    if (text !== undefined && Buffer.byteLength(text) > MAX_RESULT_BYTES) {
      send({ type: 'error', id: message.id, code: 'TOOL_RESULT_TOO_LARGE', message: `The result is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_RESULT_BYTES}.` });
      return;
    }
    // The result's JSON text goes out as it is, not parsed and serialized again.
    sendText(`{"type":"result","id":${message.id},"value":${text ?? 'null'}}`);
  })();
};
