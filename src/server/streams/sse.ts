import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Past this much waiting in a client's socket buffer, a stream sends nothing more until the client
 * drains it; the events it holds back stay in the execution's log, read again once it drained. So a
 * slow or stalled reader costs the server this much memory at most, and loses nothing.
 */
export const HIGH_WATER_BYTES = 1024 * 1024;

/** An open text/event-stream answer: event frames, heartbeat comments, and its end. */
export class SseWriter {
  private ended = false;
  private readonly endListeners: Array<() => void> = [];

  private constructor(private readonly res: ServerResponse) {
    res.on('close', () => this.finish());
  }

  /** Whether the client has not read what was sent: send nothing more until onDrain. */
  get backedUp(): boolean {
    return this.res.writableLength > HIGH_WATER_BYTES;
  }

  onDrain(listener: () => void): void {
    this.res.on('drain', listener);
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

  /** A comment line: keeps proxies and the server's idle timeout from closing a quiet stream (not sent to a client that is behind). */
  heartbeat(): void {
    if (!this.ended && !this.backedUp) this.write(': ping\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.res.end();
    this.finish();
  }

  private write(frame: string): void {
    this.res.write(frame);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.endListeners.splice(0)) listener();
  }
}
