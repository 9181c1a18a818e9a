import { pathToFileURL } from 'node:url';
import { MAX_RESULT_BYTES, type CallMessage, type ReplyMessage } from './protocol.js';

/**
 * A tool worker: loads the project's entrypoint once, then runs one call at a time for its parent.
 * Tools are the entrypoint's default export (an object of functions by id) or its named exports.
 */
type ToolFunction = (input: unknown, config: unknown) => unknown;

const send = (message: ReplyMessage) => process.send?.(message);
const entrypoint = process.argv[2] as string;

// The parent going away (crash, SIGKILL) closes the channel; a worker never outlives it.
process.on('disconnect', () => process.exit(0));

let tools: Record<string, ToolFunction>;
try {
  const module = (await import(pathToFileURL(entrypoint).href)) as Record<string, unknown>;
  const exported = module.default !== null && typeof module.default === 'object' ? (module.default as Record<string, unknown>) : module;
  tools = Object.fromEntries(Object.entries(exported).filter((entry): entry is [string, ToolFunction] => typeof entry[1] === 'function'));
  send({ type: 'ready', tools: Object.keys(tools).sort() });
} catch (error) {
  send({ type: 'load-failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}

process.on('message', (message: CallMessage) => {
  void (async () => {
    const tool = tools[message.tool];
    if (!tool) {
      send({ type: 'error', id: message.id, code: 'TOOL_NOT_FOUND', message: `The entrypoint exports no tool "${message.tool}" (it has: ${Object.keys(tools).sort().join(', ') || 'none'}).` });
      return;
    }
    let value: unknown;
    try {
      value = await tool(message.input, message.config);
    } catch (error) {
      send({ type: 'error', id: message.id, code: 'TOOL_FAILED', message: error instanceof Error ? error.message : String(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) });
      return;
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
    send({ type: 'result', id: message.id, value: JSON.parse(text ?? 'null') as unknown });
  })();
});
