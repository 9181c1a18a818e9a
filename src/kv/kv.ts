/**
 * The key-value contract every Redis role in compozy uses (cache, locks, pub/sub, broker, config
 * store, conversation memory, rate limits). Two adapters implement it: SQLite (embedded, several
 * processes on one host) and Redis. Semantics follow Redis; where a method differs from the Redis
 * command of the same name, its comment says so. Calls one caller issues without awaiting the earlier
 * ones run in issue order (one pipeline on Redis, one group commit on SQLite).
 */

/** What a string value may be written as. Numbers and bigints are stored in their decimal form. */
export type KvScalar = string | number | bigint;

export interface SetOptions {
  /** Expire after this many milliseconds. */
  px?: number;
  /** Expire after this many seconds. */
  ex?: number;
  /** Only set when the key does not exist. */
  nx?: boolean;
  /** Only set when the key exists. */
  xx?: boolean;
  /** Keep the key's current TTL instead of clearing it. */
  keepTtl?: boolean;
}

export interface GetExOptions {
  px?: number;
  ex?: number;
  /** Remove the TTL. */
  persist?: boolean;
}

export interface AppendAndTrimOptions {
  /** Keep only the newest maxLen items. */
  maxLen: number;
  /** Added to the `token_count` field of the meta hash. */
  tokenDelta: number;
  /** TTL applied to both the list and the meta hash; 0 or absent leaves TTLs unchanged. */
  ttlMs?: number;
  /**
   * With ttlMs: apply it only when the list has no TTL or less than this many milliseconds left, so a
   * busy list is not re-expired on every append (Compozy refreshes a memory's TTL when under half).
   */
  ttlRefreshBelowMs?: number;
  /**
   * Items are JSON objects carrying their token count in this field: the trim subtracts the dropped
   * items' counts from token_count, which so stays the sum over the kept items. An item that is not such
   * an object counts 0.
   */
  tokensField?: string;
  /** Written into the meta hash along with the counters. */
  fields?: Readonly<Record<string, KvScalar>>;
}

export interface ReplaceListOptions {
  /** The meta hash's token_count after the replacement. */
  tokenCount: number;
  /** TTL for both keys; absent: the new list keeps the TTL the old one had. */
  ttlMs?: number;
  fields?: Readonly<Record<string, KvScalar>>;
}

export interface SpliceHeadOptions {
  /** Compare-and-swap: nothing changes (the call answers null) unless the list's first item is exactly this. */
  expectFirst: string;
  /** Items removed from the head (at most the list's length). */
  removeCount: number;
  /** Put at the head in their place, in this order. */
  items: readonly KvScalar[];
  /** Added to the meta hash's token_count. */
  tokenDelta: number;
  fields?: Readonly<Record<string, KvScalar>>;
}

export interface KvInfo {
  driver: 'sqlite' | 'redis';
  /** File path (SQLite) or URL without password (Redis). */
  location: string;
  keys: number;
  sizeBytes: number;
  /** A storage problem the backend has now (locked, disk full, I/O errors): health shows the component degraded. */
  degraded?: { code: string; message: string };
}

export interface AcquireOptions {
  /** How long to keep trying while another holder has it (default 0: one attempt). */
  waitMs?: number;
  /** Pause between attempts (default 50 ms). */
  retryMs?: number;
}

export interface Lock {
  readonly resource: string;
  /** Identifies this holder; only it can refresh or release. */
  readonly token: string;
  /** Strictly increases with every acquisition of the resource, across processes. */
  readonly fencingToken: bigint;
  /** Extends the lease (default: the acquisition TTL). Throws LOCK_NOT_HELD when the lease was lost. */
  refresh(ttlMs?: number): Promise<void>;
  /** Throws LOCK_NOT_OWNED when another holder has it, LOCK_NOT_HELD when it already expired. */
  release(): Promise<void>;
  /** Refreshes every third of the TTL until stopped; `onLost` hears when a refresh fails. */
  autoRefresh(options?: { intervalMs?: number; onLost?: (error: Error) => void }): () => void;
}

export interface Message {
  channel: string;
  /** The pattern that matched, for psubscribe. */
  pattern?: string;
  data: unknown;
}

export interface SubscribeOptions {
  /** Messages buffered for a slow async-iterator reader before new ones are counted as overflow. */
  bufferSize?: number;
}

export interface Subscription extends AsyncIterable<Message> {
  /** Messages this subscription could not buffer because its reader was too slow. */
  readonly overflow: number;
  unsubscribe(): Promise<void>;
}

export type ExchangeType = 'fanout' | 'direct' | 'topic';

export interface QueueOptions {
  /** false: a scratch queue whose waiting messages are discarded each time it is declared (default true). */
  durable?: boolean;
  /** Deliveries before a message is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Queue that receives dead-lettered messages; without one they are dropped and counted. */
  deadLetter?: string;
  /** How long a delivered, unsettled message stays invisible before it is redelivered (default 30 s). */
  visibilityTimeoutMs?: number;
}

export interface Delivery {
  id: string;
  queue: string;
  routingKey: string;
  body: unknown;
  /** 1 for the first delivery. */
  attempt: number;
  /** Done: the message is removed. Throws BROKER_LEASE_LOST when its lease expired and it went back to the queue. */
  ack(): Promise<void>;
  /** Back to the queue (requeue: true, the default; counts as an attempt), or straight to the dead letters. */
  nack(options?: { requeue?: boolean }): Promise<void>;
}

export interface ConsumeOptions {
  /** Deliveries handled at once (default 1). */
  prefetch?: number;
  /**
   * Hears a handler's error (its delivery is nacked with requeue), a failed settle, and failures to
   * fetch messages (store closed, Redis down; fetching resumes at the next wake-up). Default: a
   * process warning.
   */
  onError?: (error: Error) => void;
}

export interface Consumer {
  /** Stops taking messages and waits for the handlers in flight. */
  cancel(): Promise<void>;
}

export interface QueueStats {
  /** Waiting or in flight. */
  messages: number;
  /** Dead-lettered without a dead-letter queue. */
  dropped: number;
}

/**
 * AMQP-style routing over the store: exchanges route to bound queues; queues hand messages to
 * consumers with at-least-once delivery. A handler that returns without settling acks; one that throws
 * nacks with requeue.
 */
export interface Broker {
  declareExchange(name: string, type: ExchangeType): Promise<void>;
  declareQueue(name: string, options?: QueueOptions): Promise<void>;
  /** fanout ignores the key; direct needs equality; topic uses `*` (one word) and `#` (zero or more). */
  bind(queue: string, exchange: string, bindingKey?: string): Promise<void>;
  /** Number of queues the message was routed to. */
  publish(exchange: string, routingKey: string, body: unknown): Promise<number>;
  consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options?: ConsumeOptions): Promise<Consumer>;
  stats(queue: string): Promise<QueueStats>;
}

export interface Kv {
  readonly broker: Broker;

  readonly driver: 'sqlite' | 'redis';

  // strings
  get(key: string): Promise<string | null>;
  /** Returns false when NX/XX prevented the write. */
  set(key: string, value: KvScalar, options?: SetOptions): Promise<boolean>;
  /** SET … GET: writes and returns the previous value (null when there was none). */
  getSet(key: string, value: KvScalar, options?: SetOptions): Promise<string | null>;
  getex(key: string, options: GetExOptions): Promise<string | null>;
  mget(keys: readonly string[]): Promise<Array<string | null>>;
  del(...keys: string[]): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  incrBy(key: string, delta?: number): Promise<number>;
  incrBy(key: string, delta: bigint): Promise<bigint>;
  decrBy(key: string, delta?: number): Promise<number>;
  decrBy(key: string, delta: bigint): Promise<bigint>;
  expire(key: string, seconds: number): Promise<boolean>;
  pexpire(key: string, ms: number): Promise<boolean>;
  persist(key: string): Promise<boolean>;
  /** Seconds left; −2 missing, −1 no expiry. */
  ttl(key: string): Promise<number>;
  /** Milliseconds left; −2 missing, −1 no expiry. */
  pttl(key: string): Promise<number>;
  type(key: string): Promise<'string' | 'hash' | 'list' | 'none'>;
  /** Every key matching a Redis glob pattern, sorted. */
  keys(pattern: string): Promise<string[]>;
  /** Iterates matching keys in pages without holding them all. */
  scan(pattern?: string, options?: { count?: number }): AsyncIterable<string>;

  // hashes
  hset(key: string, fields: Readonly<Record<string, KvScalar>>): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  hincrBy(key: string, field: string, delta: number): Promise<number>;
  hlen(key: string): Promise<number>;

  // lists
  rpush(key: string, ...values: KvScalar[]): Promise<number>;
  lpush(key: string, ...values: KvScalar[]): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  llen(key: string): Promise<number>;
  ltrim(key: string, start: number, stop: number): Promise<void>;
  lpop(key: string): Promise<string | null>;
  rpop(key: string): Promise<string | null>;
  /** RPUSH items, HINCRBY meta token_count, trim to the newest maxLen, HSET meta message_count, TTLs — atomically. */
  appendAndTrim(listKey: string, metaKey: string, items: readonly KvScalar[], options: AppendAndTrimOptions): Promise<number>;
  /** DEL the list, RPUSH items, HSET meta token_count and message_count (+ fields), TTLs — atomically. Returns the length. */
  replaceList(listKey: string, metaKey: string, items: readonly KvScalar[], options: ReplaceListOptions): Promise<number>;
  /**
   * Replaces the first removeCount items with `items` when the head is still expectFirst, adjusting the
   * meta counters, atomically; the list keeps its TTL. Returns the new length, or null when the head
   * changed (the caller read a list someone has since trimmed or replaced).
   */
  spliceHead(listKey: string, metaKey: string, options: SpliceHeadOptions): Promise<number | null>;

  // locks
  /** Throws LOCK_TIMEOUT when another holder keeps it for longer than waitMs. */
  acquire(resource: string, ttlMs: number, options?: AcquireOptions): Promise<Lock>;
  /** One attempt; null when another holder has it. */
  tryAcquire(resource: string, ttlMs: number): Promise<Lock | null>;

  // pub/sub
  /** Number of subscriptions that received it (SQLite: across every process sharing the file). */
  publish(channel: string, data: unknown): Promise<number>;
  subscribe(channels: string | readonly string[], options?: SubscribeOptions): Promise<Subscription>;
  psubscribe(patterns: string | readonly string[], options?: SubscribeOptions): Promise<Subscription>;

  // lifecycle
  ping(): Promise<void>;
  info(): Promise<KvInfo>;
  close(): Promise<void>;
}
