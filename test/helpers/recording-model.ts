import { createServer, type IncomingMessage } from 'node:http';

/** A chat-completions request body as the model received it. */
export type ModelRequest = Record<string, unknown> & { messages?: Array<{ role: string; content: unknown }> };

/** An OpenAI-compatible model in the test process that records every request it is sent. */
export interface RecordingModel {
  /** Base URL for a model's api_url (ends in /v1). */
  url: string;
  /** Every request body, in arrival order. */
  requests: ModelRequest[];
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    request.on('data', (chunk: Buffer) => (data += chunk.toString()));
    request.on('end', () => resolve(data));
    request.on('error', reject);
  });
}

/** A call of a tool the model asks for (OpenAI's tool_calls entry, with its arguments as an object). */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** What the model answers: its text, or tool calls (finish_reason tool_calls). */
export type ModelAnswer = string | { toolCalls: ToolCallRequest[] };

/** Answers each chat completion with `answer(request, n)` (n counts from 1; default "answer n"). */
export async function startRecordingModel(answer: (request: ModelRequest, n: number) => ModelAnswer = (_, n) => `answer ${n}`): Promise<RecordingModel> {
  const requests: ModelRequest[] = [];
  const server = createServer(async (request, response) => {
    const body = JSON.parse((await readBody(request)) || '{}') as ModelRequest;
    requests.push(body);
    const reply = answer(body, requests.length);
    const message =
      typeof reply === 'string'
        ? { role: 'assistant', content: reply }
        : { role: 'assistant', content: null, tool_calls: reply.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } })) };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        id: `c${requests.length}`,
        object: 'chat.completion',
        created: 1,
        model: String(body.model ?? 'local-model'),
        choices: [{ index: 0, message, finish_reason: typeof reply === 'string' ? 'stop' : 'tool_calls' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/v1`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
