import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Messages between the parent and a tool process. They travel on a private socket (the child's fd 3),
 * not on Node's IPC channel: the tool process has no `process.send`, and stdout stays free for console
 * output. Each message is a frame: a 4-byte big-endian length, then the payload. The parent's first
 * frame is the process's key; every frame the tool process sends back starts with an HMAC-SHA256 of the
 * rest under that key, computed by the worker runtime, so bytes a tool writes to the socket itself are
 * refused rather than taken as a result.
 */
export interface CallMessage {
  type: 'call';
  id: number;
  tool: string;
  input: unknown;
  config: unknown;
  /** The tool's own environment variables, set for the duration of the call. */
  env: Record<string, string>;
}

export type ReplyMessage =
  | { type: 'ready'; tools: string[] }
  /** location: where the entrypoint failed (path:line[:column]) when the error says; syntax: it did not parse. */
  | { type: 'load-failed'; message: string; location?: string; syntax?: boolean }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; code: 'TOOL_NOT_FOUND' | 'TOOL_FAILED' | 'TOOL_RESULT_TOO_LARGE' | 'TOOL_RESULT_INVALID'; message: string; stack?: string };

export const MAX_RESULT_BYTES = 10 * 1024 * 1024;
/** A tool's error stack is cut to this many bytes of JSON text, so an error always fits in a frame. */
export const MAX_STACK_BYTES = 64 * 1024;
/**
 * The largest reply frame the parent reads: a result at the limit, or an error whose message is cut
 * to the result limit and whose stack to MAX_STACK_BYTES (both as JSON text), the envelope and the MAC.
 */
export const MAX_REPLY_FRAME_BYTES = MAX_RESULT_BYTES + MAX_STACK_BYTES + 4096;

/**
 * The text cut so that its JSON form takes at most `limit` bytes, with a note saying where it was cut.
 * A long error message reaches the execution store whole up to the result limit (the engine cuts it
 * for Temporal's history itself).
 */
export function cutToJsonBytes(text: string, limit: number): string {
  const note = (kept: number) => `… (cut at ${kept} of ${text.length} characters)`;
  if (Buffer.byteLength(JSON.stringify(text)) <= limit) return text;
  let kept = Math.min(text.length, limit);
  for (;;) {
    const cut = `${text.slice(0, kept)}${note(kept)}`;
    const bytes = Buffer.byteLength(JSON.stringify(cut));
    if (bytes <= limit) return cut;
    kept = Math.max(0, Math.floor((kept * limit) / bytes) - 16);
  }
}

const MAC_BYTES = 32;
export const KEY_BYTES = 32;

export function frame(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.byteLength);
  return Buffer.concat([header, payload]);
}

/** The key as the HMAC functions take it (made once per process: a raw key is turned into a KeyObject on every call otherwise). */
export function macKey(key: Uint8Array): KeyObject {
  return createSecretKey(key);
}

/** The bytes of one reply frame: the length, the MAC of the JSON text, then the text, in one buffer. */
export function signedFrame(key: KeyObject, json: string): Buffer {
  const length = Buffer.byteLength(json);
  const bytes = Buffer.allocUnsafe(4 + MAC_BYTES + length);
  bytes.writeUInt32BE(MAC_BYTES + length, 0);
  bytes.write(json, 4 + MAC_BYTES);
  const body = bytes.subarray(4 + MAC_BYTES);
  createHmac('sha256', key).update(body).digest().copy(bytes, 4);
  return bytes;
}

/** The JSON text of a signed payload, or undefined when its MAC is not the key's. */
export function verifiedText(key: KeyObject, payload: Buffer): string | undefined {
  if (payload.byteLength < MAC_BYTES) return undefined;
  const body = payload.subarray(MAC_BYTES);
  const expected = createHmac('sha256', key).update(body).digest();
  return timingSafeEqual(expected, payload.subarray(0, MAC_BYTES)) ? body.toString() : undefined;
}

/**
 * Cuts a byte stream into frames. A frame that announces more than `maxBytes` stops the reader before
 * anything of it is kept: the owner learns the announced size and closes the stream, so a sender that
 * floods the socket is never buffered beyond one frame of the limit.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length the current frame announced, once its header is in. */
  private expected: number | undefined;
  private stopped = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (payload: Buffer) => void,
    private readonly onTooLarge: (announced: number) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    while (!this.stopped) {
      if (this.expected === undefined) {
        if (this.buffered < 4) return;
        this.expected = this.take(4).readUInt32BE(0);
        if (this.expected > this.maxBytes) {
          const announced = this.expected;
          this.stop();
          this.onTooLarge(announced);
          return;
        }
      }
      if (this.buffered < this.expected) return;
      const payload = this.take(this.expected);
      this.expected = undefined;
      this.onFrame(payload);
    }
  }

  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  /** The next n buffered bytes (n <= buffered), copied together only when they span chunks. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0] as Buffer;
    let taken: Buffer;
    if (first.byteLength >= n) {
      taken = first.subarray(0, n);
      if (first.byteLength === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      taken = all.subarray(0, n);
      this.chunks = all.byteLength > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return taken;
  }
}
