import { randomBytes } from 'node:crypto';
import { encodeKsuid } from './ksuid-encode.js';

/** A new KSUID. Ids sort by creation second, the property execution lists rely on. */
export function ksuid(now = Date.now()): string {
  return encodeKsuid(now, randomBytes(16));
}

export function isKsuid(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9A-Za-z]{27}$/.test(text) && text <= 'aWgEPTl1tmebfsQzFP4bxwgy80V';
}
