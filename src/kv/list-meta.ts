import type { KvScalar } from './kv.js';
import { encodeScalar, invalid } from './validate.js';

/** The token count an item carries in `field` (appendAndTrim's tokensField); 0 for anything else, as the Redis script reads it. */
export function itemTokens(item: string, field: string): number {
  try {
    const value = (JSON.parse(item) as Record<string, unknown> | null)?.[field];
    return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : 0;
  } catch {
    return 0;
  }
}

/** Meta-hash fields written with the counters; the counters themselves cannot be overwritten this way. */
export function encodeMetaFields(fields: Readonly<Record<string, KvScalar>> | undefined, maxValueBytes: number): Array<[string, string]> {
  if (fields === undefined) return [];
  if (fields === null || typeof fields !== 'object') throw invalid('fields must be an object.');
  return Object.entries(fields).map(([field, value]) => {
    if (field === 'token_count' || field === 'message_count') throw invalid(`fields: "${field}" is a counter the operation maintains.`);
    return [field, encodeScalar(value, maxValueBytes, `field "${field}"`)];
  });
}

