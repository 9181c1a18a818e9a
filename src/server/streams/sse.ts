import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * A client that reads slower than events come is cut off once this much is waiting in its socket
 * buffer: it reconnects with Last-Event-ID and loses nothing, while the server's memory stays bounded.
 */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** An open text/event-stream answer: event frames, heartbeat comments, and its end. */
export class SseWriter {
  private ended = false;
  private readonly endListeners: Array<() => void> = [];

  private constructor(private readonly res: ServerResponse) {
    res.on('close', () => this.finish());
  }

  /** Takes the answer over from Fastify (its hooks have run: auth, rate limit) and sends the headers. */
  static open(reply: FastifyReply): SseWriter {
    reply.hijack();
    const res = reply.raw;
    // The headers the Go engine sends (engine/infra/server/router/sse.go StartSSE); X-Accel-Buffering keeps nginx from holding events back.
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    return new SseWriter(res);
  }

  get open(): boolean {
    return !this.ended;
  }

  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.endListeners.push(listener);
  }

  /** One event; `id` omitted for streams that cannot resume. */
  event(name: string, data: unknown, id?: number): void {
    if (this.ended) return;
    const json = JSON.stringify(data);
    this.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${name}\ndata: ${json}\n\n`);
  }

  /** A comment line: keeps proxies and the server's idle timeout from closing a quiet stream. */
  heartbeat(): void {
    if (!this.ended) this.write(': ping\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.res.end();
    this.finish();
  }

  private write(frame: string): void {
    this.res.write(frame);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      this.finish();
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.endListeners.splice(0)) listener();
  }
}
