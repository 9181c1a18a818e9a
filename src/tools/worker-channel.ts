import { createReadStream, createWriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { deserialize, serialize } from 'node:v8';
import type { CallMessage } from './protocol.js';

/** The tool worker's end of its private socket (fd 3), under Node or Bun. */
export interface WorkerChannel {
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'close' | 'error', listener: () => void): void;
  write(bytes: Uint8Array, done?: () => void): void;
}

const UNDER_BUN = typeof process.versions.bun === 'string';

/**
 * Node opens fd 3 as a socket. Bun cannot (its net.Socket does not take an inherited fd), so it reads
 * and writes the descriptor as file streams; the stream ending is the parent going away.
 */
export function openWorkerChannel(): WorkerChannel {
  if (!UNDER_BUN) return new Socket({ fd: 3, readable: true, writable: true }) as unknown as WorkerChannel;
  const input = createReadStream('', { fd: 3, autoClose: false });
  const output = createWriteStream('', { fd: 3, autoClose: false });
  return {
    on(event: 'data' | 'close' | 'error', listener: (chunk: Buffer) => void) {
      if (event === 'data') input.on('data', (chunk) => listener(chunk as Buffer));
      else if (event === 'close') input.on('end', () => (listener as () => void)());
      else {
        input.on('error', () => (listener as () => void)());
        output.on('error', () => (listener as () => void)());
      }
    },
    write: (bytes, done) => void output.write(bytes, done),
  };
}

/**
 * A call's bytes on the wire. Node's workers take the V8 serialization; Bun's serializer is
 * JavaScriptCore's and does not read V8's format, so Bun's take JSON.
 */
export type CallEncoding = 'v8' | 'json';

export function encodeCall(message: CallMessage, encoding: CallEncoding): Uint8Array {
  return encoding === 'json' ? Buffer.from(JSON.stringify(message)) : serialize(message);
}

export function decodeCall(payload: Buffer): CallMessage {
  return (UNDER_BUN ? JSON.parse(payload.toString()) : deserialize(payload)) as CallMessage;
}
