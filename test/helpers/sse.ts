import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  id: number | undefined;
  event: string;
  data: Record<string, unknown>;
}

export interface SseClient {
  status: number;
  contentType: string | null;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server ends the stream (or the client aborts it). */
  ended: Promise<void>;
  /** Whether the server ended it (not an abort). */
  endedByServer(): boolean;
  /** Waits until an event matches (polling what has arrived; fails after `ms`). */
  waitFor(predicate: (event: SseEvent) => boolean, what: string, ms?: number): Promise<SseEvent>;
  abort(): void;
}

/** Opens an SSE stream with fetch and parses it with eventsource-parser, as a CLI or dashboard client would. */
export async function openSse(url: string, headers: Record<string, string> = {}, options: { readAfter?: Promise<void> } = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let serverEnded = false;
  const parser = createParser({
    onEvent: (message) => events.push({ id: message.id === undefined ? undefined : Number(message.id), event: message.event ?? 'message', data: JSON.parse(message.data) as Record<string, unknown> }),
    onComment: (comment) => comments.push(comment.trim()),
  });
  const ended = (async () => {
    if (!response.body) return;
    // Until then nothing is read: the socket's buffers fill and the server sees a client that stopped reading.
    await options.readAfter;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      serverEnded = true;
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    comments,
    ended,
    endedByServer: () => serverEnded,
    async waitFor(predicate, what, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (serverEnded) throw new Error(`stream ended before ${what}; got ${events.map((e) => e.event).join(', ')}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${events.map((e) => e.event).join(', ')}`);
        await sleep(20);
      }
    },
    abort: () => controller.abort(),
  };
}
