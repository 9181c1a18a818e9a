import { createClient, type RedisClientType } from '@redis/client';
import { CompozyError, errorMessage } from '../../errors.js';
import { redactUrl } from '../../platform/urls.js';
import { escapeGlob } from '../glob.js';
import type {
  AcquireOptions,
  AppendAndTrimOptions,
  GetExOptions,
  Kv,
  KvInfo,
  KvScalar,
  Lock,
  ReplaceListOptions,
  SetOptions,
  SpliceHeadOptions,
  SubscribeOptions,
  Subscription,
} from '../kv.js';
import { encodeMetaFields } from '../list-meta.js';
import { acquireWith, tryAcquireWith, type LockBackend } from '../lock.js';
import { BufferedSubscription, DEFAULT_SUBSCRIPTION_BUFFER } from '../subscription.js';
import {
  checkDelta,
  checkKey,
  checkPositiveMs,
  DEFAULT_MAX_VALUE_BYTES,
  encodeMessage,
  encodeScalar,
  invalid,
  notInteger,
  setTtlMs,
  wrongType,
} from '../validate.js';
import { RedisBroker } from './broker.js';
import { APPEND_AND_TRIM, COUNTER, LOCK_EXTEND, LOCK_GIVE, LOCK_TAKE, REPLACE_LIST, SPLICE_HEAD, type Script } from './scripts.js';

export interface RedisKvOptions {
  url: string;
  /** Namespace for every key and channel (default "compozy:"), so several stores can share a Redis. */
  prefix?: string;
  maxValueBytes?: number;
  connectTimeoutMs?: number;
}

type Reply = string | number | null | Reply[];
type Client = RedisClientType;

/**
 * The KV contract on Redis (node-redis, the client Redis recommends for new code; its 6.x defaults to
 * RESP3, so RESP2 is pinned and replies stay plain strings and arrays). Multi-step operations are Lua
 * scripts, atomic like the SQLite adapter's transactions. Keys live under `<prefix>k:`, locks under
 * `<prefix>lock:`, channels under `<prefix>ch:`.
 */
export class RedisKv implements Kv {
  readonly driver = 'redis' as const;
  private closed = false;
  private lastConnectionError: string | undefined;
  private readonly subscriptions = new Set<BufferedSubscription>();
  private readonly listeners = new Set<Client>();
  private readonly maxValueBytes: number;
  private readonly lockBackend: LockBackend;
  readonly broker: RedisBroker;

  private constructor(
    private readonly client: Client,
    private readonly options: RedisKvOptions,
    private readonly prefix: string,
  ) {
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.lockBackend = {
      tryTake: async (resource, token, ttlMs) => {
        const fence = (await this.eval(LOCK_TAKE, [this.lockKey(resource), `${prefix}fence:${resource}`], [token, String(ttlMs)], resource)) as string | null;
        return fence === null ? null : BigInt(fence);
      },
      extend: async (resource, token, ttlMs) => (await this.eval(LOCK_EXTEND, [this.lockKey(resource)], [token, String(ttlMs)], resource)) === 1,
      give: async (resource, token) => (await this.eval(LOCK_GIVE, [this.lockKey(resource)], [token], resource)) as 'released' | 'not-owned' | 'not-held',
    };
    this.broker = new RedisBroker({
      prefix,
      maxValueBytes: this.maxValueBytes,
      run: (args, key) => this.run(args, key),
      eval: (script, keys, args, key) => this.eval(script, keys, args, key),
      listen: (channel, onMessage) => this.listen(channel, onMessage),
    });
  }

  /** A connection of its own subscribed to one channel (broker wake-ups). */
  private async listen(channel: string, onMessage: () => void): Promise<() => Promise<void>> {
    const connection = await this.openConnection();
    await connection.subscribe(channel, onMessage);
    this.listeners.add(connection);
    return async () => {
      this.listeners.delete(connection);
      if (connection.isOpen) await connection.close();
    };
  }

  private async openConnection(): Promise<Client> {
    if (this.closed) throw new CompozyError('KV_CLOSED', 'The Redis KV is closed.', { hint: 'Connect a new RedisKv.' });
    const connection = RedisKv.createClient(this.options, (error) => (this.lastConnectionError = errorMessage(error)));
    try {
      await connection.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
    return connection;
  }

  private static createClient(options: RedisKvOptions, onError: (error: Error) => void): Client {
    const client = createClient({
      url: options.url,
      RESP: 2,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 3000,
        // After a lost connection: a few quick retries, then every 2 s — never a tight loop.
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    }) as unknown as Client;
    client.on('error', onError);
    return client;
  }

  /** Connects, failing fast with the URL named when Redis is not there. */
  static async connect(options: RedisKvOptions): Promise<RedisKv> {
    let lastError: Error | undefined;
    const probe = createClient({ url: options.url, RESP: 2, socket: { connectTimeout: options.connectTimeoutMs ?? 3000, reconnectStrategy: false } });
    probe.on('error', (error: Error) => (lastError = error));
    try {
      await probe.connect();
    } catch (error) {
      throw new CompozyError('KV_UNAVAILABLE', `Redis at ${redactUrl(options.url)} is not reachable: ${errorMessage(lastError ?? error)}.`, {
        hint: 'Start Redis, fix REDIS_URL, or use the embedded SQLite KV (standalone mode).',
        cause: error,
      });
    }
    await probe.close();
    let kv: RedisKv | undefined;
    const client = RedisKv.createClient(options, (error) => {
      if (kv) kv.lastConnectionError = errorMessage(error);
    });
    await client.connect();
    kv = new RedisKv(client, options, options.prefix ?? 'compozy:');
    return kv;
  }

  private key(key: string): string {
    return `${this.prefix}k:${checkKey(key)}`;
  }

  private lockKey(resource: string): string {
    return `${this.prefix}lock:${resource}`;
  }

  private channel(name: string): string {
    return `${this.prefix}ch:${name}`;
  }

  private unavailable(error: unknown): CompozyError {
    return new CompozyError('KV_UNAVAILABLE', `Redis at ${redactUrl(this.options.url)} is not available: ${this.lastConnectionError ?? errorMessage(error)}.`, {
      hint: 'Check that Redis is running and reachable; commands are not queued while it is down.',
      cause: error,
    });
  }

  /** Maps Redis error replies onto the contract's typed errors. */
  private translate(error: unknown, key: string): Error {
    const message = errorMessage(error);
    if (message.startsWith('WRONGTYPE')) return wrongType(key);
    if (/increment or decrement would overflow/.test(message)) return notInteger(key, 'increment or decrement would overflow');
    if (/not an integer|not a valid integer/.test(message)) return notInteger(key);
    if (/UNSAFE (-?\d+)/.test(message)) {
      const value = /UNSAFE (-?\d+)/.exec(message)?.[1];
      return invalid(`"${key}" would become ${value}, beyond 2^53; pass a bigint increment to work with values this large.`);
    }
    if (error instanceof CompozyError) return error;
    return this.unavailable(error);
  }

  private async run(args: string[], key = ''): Promise<Reply> {
    if (this.closed) throw new CompozyError('KV_CLOSED', 'The Redis KV is closed.', { hint: 'Connect a new RedisKv.' });
    try {
      return (await this.client.sendCommand(args)) as Reply;
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  private async eval(script: Script, keys: string[], args: string[], key: string): Promise<Reply> {
    try {
      return await this.run(['EVALSHA', script.sha, String(keys.length), ...keys, ...args], key);
    } catch (error) {
      if (!/NOSCRIPT/.test(errorMessage((error as Error).cause ?? error))) throw error;
      return this.run(['EVAL', script.source, String(keys.length), ...keys, ...args], key);
    }
  }

  // strings

  async get(key: string): Promise<string | null> {
    return (await this.run(['GET', this.key(key)], key)) as string | null;
  }

  private setArgs(key: string, value: KvScalar, options: SetOptions): string[] {
    const encoded = encodeScalar(value, this.maxValueBytes);
    const ttl = setTtlMs(options);
    const args = ['SET', this.key(key), encoded];
    if (ttl !== undefined) args.push('PX', String(ttl));
    if (options.keepTtl) args.push('KEEPTTL');
    if (options.nx) args.push('NX');
    if (options.xx) args.push('XX');
    return args;
  }

  async set(key: string, value: KvScalar, options: SetOptions = {}): Promise<boolean> {
    return (await this.run(this.setArgs(key, value, options), key)) === 'OK';
  }

  async getSet(key: string, value: KvScalar, options: SetOptions = {}): Promise<string | null> {
    return (await this.run([...this.setArgs(key, value, options), 'GET'], key)) as string | null;
  }

  async getex(key: string, options: GetExOptions): Promise<string | null> {
    const given = [options.px !== undefined, options.ex !== undefined, Boolean(options.persist)].filter(Boolean).length;
    if (given > 1) throw invalid('getex: use one of px, ex or persist.');
    const args = ['GETEX', this.key(key)];
    if (options.px !== undefined) args.push('PX', String(checkPositiveMs(options.px, 'px')));
    if (options.ex !== undefined) args.push('PX', String(checkPositiveMs(options.ex, 'ex') * 1000));
    if (options.persist) args.push('PERSIST');
    return (await this.run(args, key)) as string | null;
  }

  async mget(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return (await this.run(['MGET', ...keys.map((k) => this.key(k))])) as Array<string | null>;
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return (await this.run(['DEL', ...keys.map((k) => this.key(k))])) as number;
  }

  async exists(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return (await this.run(['EXISTS', ...keys.map((k) => this.key(k))])) as number;
  }

  private async counter(key: string, field: string, delta: bigint, asBigint: boolean): Promise<number | bigint> {
    const value = (await this.eval(COUNTER, [this.key(key)], [delta.toString(), field, asBigint ? '0' : '1'], field === '' ? key : `${key}.${field}`)) as string;
    return asBigint ? BigInt(value) : Number(value);
  }

  incrBy(key: string, delta?: number): Promise<number>;
  incrBy(key: string, delta: bigint): Promise<bigint>;
  async incrBy(key: string, delta: number | bigint = 1): Promise<number | bigint> {
    return this.counter(key, '', checkDelta(delta), typeof delta === 'bigint');
  }

  decrBy(key: string, delta?: number): Promise<number>;
  decrBy(key: string, delta: bigint): Promise<bigint>;
  async decrBy(key: string, delta: number | bigint = 1): Promise<number | bigint> {
    return this.counter(key, '', -checkDelta(delta), typeof delta === 'bigint');
  }

  async expire(key: string, seconds: number): Promise<boolean> {
    if (!Number.isSafeInteger(seconds)) throw invalid(`expire: seconds must be an integer, got ${seconds}.`);
    return this.pexpire(key, seconds * 1000);
  }

  async pexpire(key: string, ms: number): Promise<boolean> {
    if (!Number.isSafeInteger(ms)) throw invalid(`pexpire: ms must be an integer, got ${ms}.`);
    return (await this.run(['PEXPIRE', this.key(key), String(ms)], key)) === 1;
  }

  async persist(key: string): Promise<boolean> {
    return (await this.run(['PERSIST', this.key(key)], key)) === 1;
  }

  async ttl(key: string): Promise<number> {
    return (await this.run(['TTL', this.key(key)], key)) as number;
  }

  async pttl(key: string): Promise<number> {
    return (await this.run(['PTTL', this.key(key)], key)) as number;
  }

  async type(key: string): Promise<'string' | 'hash' | 'list' | 'none'> {
    return (await this.run(['TYPE', this.key(key)], key)) as 'string' | 'hash' | 'list' | 'none';
  }

  private userPattern(pattern: string): string {
    return `${escapeGlob(`${this.prefix}k:`)}${checkKey(pattern, 'pattern')}`;
  }

  async keys(pattern: string): Promise<string[]> {
    const found = (await this.run(['KEYS', this.userPattern(pattern)])) as string[];
    const strip = this.prefix.length + 2;
    return found.map((key) => key.slice(strip)).sort();
  }

  async *scan(pattern = '*', options: { count?: number } = {}): AsyncIterable<string> {
    const count = options.count ?? 100;
    if (!Number.isSafeInteger(count) || count <= 0) throw invalid(`scan: count must be a positive integer, got ${count}.`);
    const match = this.userPattern(pattern);
    const strip = this.prefix.length + 2;
    // SCAN may return a key twice while the keyspace rehashes; each is yielded once.
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = (await this.run(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)])) as [string, string[]];
      cursor = next;
      for (const key of keys) {
        if (seen.has(key)) continue;
        seen.add(key);
        yield key.slice(strip);
      }
    } while (cursor !== '0');
  }

  // hashes

  async hset(key: string, fields: Readonly<Record<string, KvScalar>>): Promise<number> {
    if (fields === null || typeof fields !== 'object') throw invalid('hset: fields must be an object.');
    const entries = Object.entries(fields);
    if (entries.length === 0) throw invalid('hset: at least one field is required.');
    const args = entries.flatMap(([field, value]) => [field, encodeScalar(value, this.maxValueBytes, `field "${field}"`)]);
    return (await this.run(['HSET', this.key(key), ...args], key)) as number;
  }

  async hget(key: string, field: string): Promise<string | null> {
    return (await this.run(['HGET', this.key(key), checkKey(field, 'field')], key)) as string | null;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    const flat = (await this.run(['HGETALL', this.key(key)], key)) as string[];
    const result: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) result[flat[i] as string] = flat[i + 1] as string;
    return Object.fromEntries(Object.entries(result).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return (await this.run(['HDEL', this.key(key), ...fields.map((f) => checkKey(f, 'field'))], key)) as number;
  }

  async hincrBy(key: string, field: string, delta: number): Promise<number> {
    return (await this.counter(key, checkKey(field, 'field'), checkDelta(delta), false)) as number;
  }

  async hlen(key: string): Promise<number> {
    return (await this.run(['HLEN', this.key(key)], key)) as number;
  }

  // lists

  private async push(command: 'RPUSH' | 'LPUSH', key: string, values: readonly KvScalar[]): Promise<number> {
    if (values.length === 0) throw invalid('push: at least one value is required.');
    const encoded = values.map((value) => encodeScalar(value, this.maxValueBytes));
    return (await this.run([command, this.key(key), ...encoded], key)) as number;
  }

  async rpush(key: string, ...values: KvScalar[]): Promise<number> {
    return this.push('RPUSH', key, values);
  }

  async lpush(key: string, ...values: KvScalar[]): Promise<number> {
    return this.push('LPUSH', key, values);
  }

  private checkIndexes(start: number, stop: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop)) throw invalid('list indexes must be integers.');
  }

  async lrange(key: string, start: number, stop: number): Promise<string[]> {
    this.checkIndexes(start, stop);
    return (await this.run(['LRANGE', this.key(key), String(start), String(stop)], key)) as string[];
  }

  async llen(key: string): Promise<number> {
    return (await this.run(['LLEN', this.key(key)], key)) as number;
  }

  async ltrim(key: string, start: number, stop: number): Promise<void> {
    this.checkIndexes(start, stop);
    await this.run(['LTRIM', this.key(key), String(start), String(stop)], key);
  }

  async lpop(key: string): Promise<string | null> {
    return (await this.run(['LPOP', this.key(key)], key)) as string | null;
  }

  async rpop(key: string): Promise<string | null> {
    return (await this.run(['RPOP', this.key(key)], key)) as string | null;
  }

  async appendAndTrim(listKey: string, metaKey: string, items: readonly KvScalar[], options: AppendAndTrimOptions): Promise<number> {
    if (!Number.isSafeInteger(options.maxLen) || options.maxLen <= 0) throw invalid(`appendAndTrim: maxLen must be a positive integer, got ${options.maxLen}.`);
    const tokenDelta = checkDelta(options.tokenDelta);
    const ttl = options.ttlMs ? checkPositiveMs(options.ttlMs, 'ttlMs') : 0;
    const below = options.ttlRefreshBelowMs ? checkPositiveMs(options.ttlRefreshBelowMs, 'ttlRefreshBelowMs') : 0;
    const fields = encodeMetaFields(options.fields, this.maxValueBytes);
    const encoded = items.map((item) => encodeScalar(item, this.maxValueBytes));
    const args = [String(options.maxLen), tokenDelta.toString(), String(ttl), String(below), options.tokensField ?? '', String(fields.length), ...fields.flat(), ...encoded];
    return (await this.eval(APPEND_AND_TRIM, [this.key(listKey), this.key(metaKey)], args, `${listKey}/${metaKey}`)) as number;
  }

  async replaceList(listKey: string, metaKey: string, items: readonly KvScalar[], options: ReplaceListOptions): Promise<number> {
    const tokenCount = checkDelta(options.tokenCount);
    const ttl = options.ttlMs ? checkPositiveMs(options.ttlMs, 'ttlMs') : 0;
    const fields = encodeMetaFields(options.fields, this.maxValueBytes);
    const encoded = items.map((item) => encodeScalar(item, this.maxValueBytes));
    const args = [tokenCount.toString(), String(ttl), String(fields.length), ...fields.flat(), ...encoded];
    return (await this.eval(REPLACE_LIST, [this.key(listKey), this.key(metaKey)], args, `${listKey}/${metaKey}`)) as number;
  }

  async spliceHead(listKey: string, metaKey: string, options: SpliceHeadOptions): Promise<number | null> {
    if (!Number.isSafeInteger(options.removeCount) || options.removeCount < 0) throw invalid(`spliceHead: removeCount must be a non-negative integer, got ${options.removeCount}.`);
    const tokenDelta = checkDelta(options.tokenDelta);
    const fields = encodeMetaFields(options.fields, this.maxValueBytes);
    const encoded = options.items.map((item) => encodeScalar(item, this.maxValueBytes));
    const args = [options.expectFirst, String(options.removeCount), tokenDelta.toString(), String(fields.length), ...fields.flat(), ...encoded];
    return (await this.eval(SPLICE_HEAD, [this.key(listKey), this.key(metaKey)], args, `${listKey}/${metaKey}`)) as number | null;
  }

  // locks

  async acquire(resource: string, ttlMs: number, options?: AcquireOptions): Promise<Lock> {
    return acquireWith(this.lockBackend, resource, ttlMs, options);
  }

  async tryAcquire(resource: string, ttlMs: number): Promise<Lock | null> {
    return tryAcquireWith(this.lockBackend, resource, ttlMs);
  }

  // pub/sub

  async publish(channel: string, data: unknown): Promise<number> {
    const payload = encodeMessage(data);
    return (await this.run(['PUBLISH', this.channel(checkKey(channel, 'channel')), payload])) as number;
  }

  async subscribe(channels: string | readonly string[], options: SubscribeOptions = {}): Promise<Subscription> {
    return this.subscribeTo('channel', channels, options);
  }

  async psubscribe(patterns: string | readonly string[], options: SubscribeOptions = {}): Promise<Subscription> {
    return this.subscribeTo('pattern', patterns, options);
  }

  /** Each subscription has its own connection, so PUBLISH counts subscriptions exactly as SQLite does. */
  private async subscribeTo(kind: 'channel' | 'pattern', targets: string | readonly string[], options: SubscribeOptions): Promise<Subscription> {
    const list = typeof targets === 'string' ? [targets] : [...targets];
    if (list.length === 0) throw invalid(`${kind === 'channel' ? 'subscribe' : 'psubscribe'}: at least one ${kind} is required.`);
    list.forEach((target) => checkKey(target, kind));
    const connection = await this.openConnection();
    const strip = this.prefix.length + 3;
    const sink: BufferedSubscription = new BufferedSubscription(options.bufferSize ?? DEFAULT_SUBSCRIPTION_BUFFER, async () => {
      this.subscriptions.delete(sink);
      if (connection.isOpen) await connection.close();
    });
    for (const target of list) {
      if (kind === 'channel') {
        await connection.subscribe(this.channel(target), (message: string) => sink.push({ channel: target, data: JSON.parse(message) as unknown }));
      } else {
        const pattern = `${escapeGlob(`${this.prefix}ch:`)}${target}`;
        await connection.pSubscribe(pattern, (message: string, channel: string) => sink.push({ channel: channel.slice(strip), pattern: target, data: JSON.parse(message) as unknown }));
      }
    }
    this.subscriptions.add(sink);
    return sink;
  }

  // lifecycle

  async ping(): Promise<void> {
    await this.run(['PING']);
  }

  async info(): Promise<KvInfo> {
    let keys = 0;
    for await (const key of this.scan('*', { count: 1000 })) if (key !== undefined) keys++;
    const memory = (await this.run(['INFO', 'memory'])) as string;
    const used = /used_memory:(\d+)/.exec(memory)?.[1];
    return { driver: 'redis', location: redactUrl(this.options.url), keys, sizeBytes: used ? Number(used) : 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.broker.close();
    this.closed = true;
    for (const sub of [...this.subscriptions]) await sub.unsubscribe();
    for (const connection of [...this.listeners]) if (connection.isOpen) await connection.close();
    this.listeners.clear();
    await this.client.close();
  }
}
