import { encodeKsuid } from '../store/ksuid-encode.js';

/**
 * 16 bytes from a string: four 32-bit FNV-1a lanes with different offsets, each mixed with a
 * murmur3 finaliser. Not cryptographic; it only has to spread distinct task paths apart, and it runs
 * inside the workflow sandbox, which has no node:crypto.
 */
function digest16(text: string): number[] {
  const lanes = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    for (let l = 0; l < 4; l++) lanes[l] = Math.imul((lanes[l] as number) ^ c ^ (l << 16), 0x01000193 + 2 * l);
  }
  const bytes: number[] = [];
  for (let l = 0; l < 4; l++) {
    let h = (lanes[l] as number) ^ text.length;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    bytes.push((h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  }
  return bytes;
}

/**
 * Mints task execution ids from the workflow's own deterministic state: the execution, the run, the
 * task's path in the run (parent id / child index, or a top-level task id) and how many times that
 * path has run before. Every attempt of a workflow task (a worker killed mid-task, a replay) mints the
 * same ids in the same order, so a retried task overwrites its own state row instead of adding one.
 * The KSUID time part is the execution's start, so ids stay valid KSUIDs.
 */
export class TaskIds {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly execId: string,
    private readonly runId: string,
    private readonly startedAtMs: number,
  ) {}

  next(path: string): string {
    const occurrence = this.seen.get(path) ?? 0;
    this.seen.set(path, occurrence + 1);
    return taskExecId(this.execId, this.runId, this.startedAtMs, `${path}#${occurrence}`);
  }
}

export function taskExecId(execId: string, runId: string, startedAtMs: number, key: string): string {
  return encodeKsuid(startedAtMs, digest16(`${execId}\u0000${runId}\u0000${key}`));
}
