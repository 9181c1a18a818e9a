import { createParser } from 'eventsource-parser';
import { ApiError, authHeaders } from './api';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

export interface StreamOptions {
  onEvent(event: StreamEvent): void;
  onState(state: StreamState, error?: ApiError): void;
  /** Resume after the last event id on reconnecting (execution streams); without, the caller re-reads on each 'live'. */
  resume: boolean;
  /** The event after which the server closes the stream for good (execution.finished). */
  last?: string;
}

const MAX_BACKOFF_MS = 5000;

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code: string; message: string; details?: Record<string, unknown> } };
    if (body.error) return new ApiError(response.status, body.error.code, body.error.message, body.error.details ?? {});
  } catch {
    // not the envelope: the status says it
  }
  return new ApiError(response.status, `HTTP_${response.status}`, `the stream answered ${response.status}`, {});
}

/**
 * A Server-Sent Events stream of the API, read with fetch (so it sends the API key, which EventSource
 * cannot) and parsed by eventsource-parser. A dropped connection is opened again, with Last-Event-ID
 * when `resume`, so an execution stream loses nothing; a 4xx answer stops it. Returns the function
 * that closes it.
 */
export function openStream(path: string, options: StreamOptions): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let sawLast = false;
  const run = async () => {
    for (let attempt = 0; !controller.signal.aborted; attempt++) {
      options.onState(attempt === 0 ? 'connecting' : 'reconnecting');
      try {
        const response = await fetch(`/api/v0${path}`, {
          headers: { ...authHeaders(), accept: 'text/event-stream', ...(options.resume && lastId !== undefined ? { 'last-event-id': lastId } : {}) },
          signal: controller.signal,
        });
        if (!response.ok || !response.body) {
          const error = await errorOf(response);
          if (response.status >= 400 && response.status < 500) {
            options.onState('failed', error);
            return;
          }
          throw error;
        }
        options.onState('live');
        attempt = 0;
        const parser = createParser({
          onEvent: (message) => {
            if (message.id !== undefined) lastId = message.id;
            const event = message.event ?? 'message';
            if (event === options.last) sawLast = true;
            options.onEvent({ id: message.id, event, data: JSON.parse(message.data) as Record<string, unknown> });
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
        if (sawLast) {
          options.onState('ended');
          return;
        }
      } catch {
        // A dropped connection or a 5xx: open it again below, unless the page closed it.
        if (controller.signal.aborted) return;
      }
      await new Promise((done) => setTimeout(done, Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt)));
    }
  };
  void run();
  return () => controller.abort();
}
