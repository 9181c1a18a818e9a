import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../../store/api-keys.js';
import { ksuid } from '../../store/ksuid.js';

/**
 * API keys: `cpzy_<id>_<secret>`, the id a KSUID (what `compozy auth list-keys` shows and `revoke`
 * takes), the secret 32 random bytes. The store keeps SHA-256 of the whole key. A slow KDF (bcrypt,
 * scrypt) protects low-entropy passwords from guessing; a 256-bit random secret cannot be guessed from
 * its digest, so a KDF would only add its cost to every request, and an HMAC secret would have to be
 * copied to every server sharing a PostgreSQL store without making the digest any harder to invert.
 */

const KEY_PREFIX = 'cpzy_';
const KEY_PATTERN = /^cpzy_([0-9A-Za-z]{27})_([A-Za-z0-9_-]{43})$/;

/** Compared against when the id is unknown or revoked, so both take the same path as a wrong secret. */
const ABSENT_DIGEST = Buffer.alloc(32);

function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The id of a well-formed key; undefined for anything else. */
export function keyId(presented: string): string | undefined {
  return KEY_PATTERN.exec(presented)?.[1];
}

export interface NewKeyRequest {
  name: string;
  scope: ApiKeyScope;
  expiresAt: string | null;
}

/** Creates a key in the store; the returned `key` is the only copy of it. */
export async function createKey(store: ApiKeyStore, request: NewKeyRequest): Promise<{ record: ApiKeyRecord; key: string }> {
  const id = ksuid();
  const key = `${KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  const record = await store.createApiKey({ id, name: request.name, scope: request.scope, digest: keyDigest(key), expiresAt: request.expiresAt });
  return { record, key };
}

/** Verified keys one process remembers at most. */
const MAX_VERIFIED = 1000;

/** How often one process writes a key's last-used time: every request would make each read a write. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Checks presented keys against the store. An unknown, revoked, expired or malformed key all answer
 * undefined; the digest comparison is constant-time and runs for unknown ids too. A key found valid is
 * remembered until the store's change mark moves (on SQLite, any commit by another process, such as
 * `compozy auth revoke`), so a revocation holds within one turn of the event loop.
 */
export class KeyVerifier {
  private readonly touched = new Map<string, number>();
  /** Keys verified since the store's change mark was `mark`; dropped whenever it moves. */
  private verified = new Map<string, ApiKeyRecord>();
  private mark: string | undefined;
  private markRead = false;
  /** One function for every turn's reset, so a turn costs no new closure. */
  private readonly markStale = () => {
    this.markRead = false;
  };

  constructor(
    private readonly store: ApiKeyStore,
    private readonly onTouchError: (error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Synchronous when the key was verified before and nothing changed since; a promise when it reads the store. */
  verify(presented: string): ApiKeyRecord | undefined | Promise<ApiKeyRecord | undefined> {
    const remembered = this.remembered(presented);
    if (remembered) return remembered;
    const id = keyId(presented);
    if (id === undefined) return undefined;
    return this.lookUp(presented, id).then((record) => record && this.accept(record));
  }

  /** The record of a key verified before while nothing changed since, unexpired; never reads the store. */
  remembered(presented: string): ApiKeyRecord | undefined {
    const cached = this.cached(presented);
    return cached && this.accept(cached);
  }

  /** Unexpired: the record, its last use noted. */
  private accept(record: ApiKeyRecord): ApiKeyRecord | undefined {
    const now = this.now();
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) return undefined;
    if (now - (this.touched.get(record.id) ?? 0) >= TOUCH_EVERY_MS) {
      this.touched.set(record.id, now);
      this.store.touchApiKey(record.id, new Date(now).toISOString()).catch(this.onTouchError);
    }
    return record;
  }

  /**
   * A key verified before, while no key can have changed since (the store's change mark is the same).
   * The mark is read once per turn of the event loop, so requests that arrive together share one read;
   * a revocation committed by another process is seen from the next turn on (within milliseconds).
   */
  private cached(presented: string): ApiKeyRecord | undefined {
    if (!this.store.changeMark) return undefined;
    if (!this.markRead) {
      this.markRead = true;
      setImmediate(this.markStale);
      const mark = this.store.changeMark();
      if (mark !== this.mark) {
        this.verified = new Map();
        this.mark = mark;
        return undefined;
      }
    }
    return this.verified.get(presented);
  }

  private async lookUp(presented: string, id: string): Promise<ApiKeyRecord | undefined> {
    const mark = this.store.changeMark?.();
    const found = await this.store.findActiveApiKey(id);
    const expected = found ? Buffer.from(found.digest, 'hex') : ABSENT_DIGEST;
    const matches = timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
    if (!found || !matches) return undefined;
    const { digest: _digest, ...record } = found;
    if (mark !== undefined && mark === this.mark && this.verified.size < MAX_VERIFIED) this.verified.set(presented, record);
    return record;
  }
}
