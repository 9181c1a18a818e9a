import { CompozyError } from '../errors.js';
import { MEMORY_ROLES, type MemoryMessage, type MemoryRole } from './types.js';

/** Reference §5.5 (engine/memory/service validation). */
export const MEMORY_LIMITS = {
  refLength: 100,
  keyLength: 255,
  messageBytes: 10 * 1024,
  messagesPerRequest: 100,
  payloadBytes: 100 * 1024,
  pageLimit: 1000,
} as const;

const ROLES: ReadonlySet<string> = new Set(MEMORY_ROLES);

function invalid(field: string, message: string, hint?: string): CompozyError {
  return new CompozyError('INPUT_INVALID', message, { details: { field }, ...(hint ? { hint } : {}) });
}

/** Throws INPUT_INVALID for a memory ref that is not 1..100 characters of letters, digits, `_` and `-`. */
export function validateMemoryRef(ref: string, field = 'memory_ref'): void {
  if (!/^[A-Za-z0-9_-]+$/.test(ref) || ref.length > MEMORY_LIMITS.refLength) {
    throw invalid(field, `The memory reference "${ref.slice(0, 120)}" is not valid: use 1 to ${MEMORY_LIMITS.refLength} letters, digits, "_" or "-".`);
  }
}

/**
 * A message or a list of messages as a task payload or an API body carries them: `{role?, content}`
 * (role defaults to user, as the REST API does). Throws INPUT_INVALID naming the offending field, e.g.
 * `payload[3].role`.
 */
export function parseMemoryPayload(value: unknown, field = 'payload'): MemoryMessage[] {
  const list = Array.isArray(value) ? value : [value];
  const path = (i: number) => (Array.isArray(value) ? `${field}[${i}]` : field);
  if (value === undefined || value === null) throw invalid(field, `The memory ${field} is missing.`, 'Give a message {role, content} or a list of them.');
  const messages = list.map((item: unknown, i): MemoryMessage => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalid(path(i), `${path(i)} must be a message {role, content}.`);
    const { role = 'user', content, ...rest } = item as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw invalid(`${path(i)}.${extra[0]}`, `${path(i)} has an unknown field "${extra[0]}"; a message has role and content.`);
    if (typeof role !== 'string') throw invalid(`${path(i)}.role`, `${path(i)}.role must be a string.`);
    // A rendered template is typed ("{{ .input.n }}" can give 42): a scalar content is its text, as Go's string field reads it.
    const text = typeof content === 'number' || typeof content === 'boolean' ? String(content) : content;
    if (typeof text !== 'string') throw invalid(`${path(i)}.content`, `${path(i)}.content must be a string.`);
    return { role: role as MemoryRole, content: text };
  });
  validateMessages(messages, field, path);
  return messages;
}

/** The limits of §5.5 over messages about to be written; nothing is written when one fails. */
export function validateMessages(messages: readonly MemoryMessage[], field = 'messages', path: (i: number) => string = (i) => `${field}[${i}]`): void {
  if (messages.length > MEMORY_LIMITS.messagesPerRequest) {
    throw invalid(field, `${messages.length} messages in one request; at most ${MEMORY_LIMITS.messagesPerRequest} are allowed.`, 'Split them over several appends.');
  }
  let total = 0;
  messages.forEach((message, i) => {
    const at = path(i);
    if (!ROLES.has(message.role)) throw invalid(`${at}.role`, `${at}.role "${String(message.role)}" is not a message role.`, `Use one of: ${MEMORY_ROLES.join(', ')}.`);
    if (typeof message.content !== 'string') throw invalid(`${at}.content`, `${at}.content must be a string.`);
    const bytes = Buffer.byteLength(message.content, 'utf8');
    if (bytes > MEMORY_LIMITS.messageBytes) throw invalid(`${at}.content`, `${at}.content is ${bytes} bytes; a message holds at most ${MEMORY_LIMITS.messageBytes} (10 KiB).`);
    total += bytes;
  });
  if (total > MEMORY_LIMITS.payloadBytes) throw invalid(field, `The messages hold ${total} bytes; one request carries at most ${MEMORY_LIMITS.payloadBytes} (100 KiB).`);
}
