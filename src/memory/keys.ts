import { createHash } from 'node:crypto';
import type { MemoryResource } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { MEMORY_LIMITS } from './limits.js';

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Throws INPUT_INVALID naming `field` for a key the reference refuses (§5.5: ≤255 characters, no control characters). */
export function validateMemoryKey(key: string, field = 'key'): void {
  if (key.trim() === '') throw new CompozyError('INPUT_INVALID', `The memory ${field} is empty.`, { details: { field }, hint: 'Give a key such as "user:42", or a key template that renders to one.' });
  if (key.length > MEMORY_LIMITS.keyLength) {
    throw new CompozyError('INPUT_INVALID', `The memory ${field} is ${key.length} characters long; at most ${MEMORY_LIMITS.keyLength} are allowed.`, { details: { field, length: key.length } });
  }
  if (CONTROL.test(key)) throw new CompozyError('INPUT_INVALID', `The memory ${field} holds a control character.`, { details: { field }, hint: 'Keys are printable text such as "user:42".' });
}

/**
 * The key template to render for an operation on `resource`: the task's key_template or the agent memory
 * ref's key when given, else the resource's key. Throws INPUT_INVALID when there is none.
 */
export function memoryKeyTemplate(resource: MemoryResource, override?: string): string {
  const template = override ?? resource.key;
  if (template === undefined || template.trim() === '') {
    throw new CompozyError('INPUT_INVALID', `Memory "${resource.id}" has no key: the resource sets none and the caller gave none.`, {
      details: { field: 'key', memory: resource.id },
      hint: `Add key: "user:{{ .workflow.input.user_id }}" to the memory resource, or a key to the reference.`,
    });
  }
  return template;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A KV-safe form of the project name: itself when it is plain, else a digest (never a glob character). */
export function projectTag(project: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(project) ? project : sha256(project).slice(0, 32);
}

/** The KV keys of one conversation. */
export interface InstanceKeys {
  list: string;
  meta: string;
  flushPending: string;
  flushLock: string;
  clearLock: string;
  backup: string;
  backupMeta: string;
}

/** `memory:<project>:<ref>:` — every instance of one resource starts with it. */
export function resourcePrefix(project: string, ref: string): string {
  return `memory:${projectTag(project)}:${ref}:`;
}

/**
 * Reference §5.2 hashes the rendered key with SHA-256 (so any key is a safe KV key); the prefix adds the
 * project and the resource, which the reference leaves to a store prefix, so that two projects or two
 * resources sharing one Redis never share a conversation.
 */
export function instanceKeys(project: string, ref: string, key: string): InstanceKeys {
  const list = `${resourcePrefix(project, ref)}${sha256(key)}`;
  return {
    list,
    meta: `${list}:meta`,
    flushPending: `${list}:flush_pending`,
    flushLock: `${list}:flush_lock`,
    clearLock: `${list}:clear_lock`,
    backup: `${list}:backup`,
    backupMeta: `${list}:backup:meta`,
  };
}
