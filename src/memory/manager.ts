import type { MemoryResource } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { globMatch } from '../kv/glob.js';
import type { Kv } from '../kv/kv.js';
import { SqliteKv } from '../kv/sqlite/sqlite-kv.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { RuleBasedSummarizer } from './flush/summarizer.js';
import { MemoryInstanceImpl, type InstanceContext } from './instance.js';
import { instanceKeys, resourcePrefix, validateMemoryKey } from './keys.js';
import { validateMemoryRef } from './limits.js';
import { PrivacyFilter } from './privacy.js';
import type { MemoryInstance, MemoryManager, MemoryManagerOptions, MemorySubsystemHealth } from './service.js';
import { MemoryStore } from './store/memory-store.js';
import { DEFAULT_ENCODING, loadTokenCounter, type TokenCounter } from './tokens.js';
import type { MemoryWarning, Summarizer } from './types.js';

const DEFAULT_MAX_KEYS = 1000;

interface Pending {
  timer: NodeJS.Timeout;
  firstAt: number;
  lastAt: number;
  instance: MemoryInstanceImpl;
}

interface ResourceRuntime {
  resource: MemoryResource;
  context: InstanceContext;
}

export class MemoryManagerImpl implements MemoryManager {
  private readonly byId: Map<string, ResourceRuntime>;
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly options: MemoryManagerOptions,
    persistent: MemoryStore,
    private readonly local: { kv: Kv; store: MemoryStore } | undefined,
    counters: ReadonlyMap<string, TokenCounter>,
  ) {
    this.byId = new Map(
      options.resources.map((resource) => {
        const tokens = counters.get(resource.tokenProvider?.encoding ?? DEFAULT_ENCODING) as TokenCounter;
        const breaker = resource.persistence.circuitBreaker?.enabled ? new CircuitBreaker(resource.id, resource.persistence.circuitBreaker) : undefined;
        const context: InstanceContext = {
          store: resource.persistence.type === 'in_memory' && local ? local.store : persistent,
          tokens,
          privacy: new PrivacyFilter(resource.privacyPolicy),
          summarizer: this.summarizer(resource, tokens),
          scheduleFlush: (instance) => this.schedule(instance),
          guard: breaker ? (fn) => breaker.run(fn) : (fn) => fn(),
          warn: (warning) => this.warn(warning),
          now: () => Date.now(),
        };
        return [resource.id, { resource, context }];
      }),
    );
  }

  private summarizer(resource: MemoryResource, tokens: TokenCounter): Summarizer {
    const model = resource.flushing.summaryModel;
    if (model !== undefined && this.options.modelSummarizer) return this.options.modelSummarizer(resource, model);
    return this.options.summarizer ?? new RuleBasedSummarizer(tokens);
  }

  static async create(options: MemoryManagerOptions): Promise<MemoryManager> {
    const duplicate = options.resources.find((r, i) => options.resources.findIndex((o) => o.id === r.id) !== i);
    if (duplicate) throw new CompozyError('CONFIG_INVALID', `Memory "${duplicate.id}" is defined twice.`, { hint: 'Give each memory resource a unique id.' });
    const modelled = options.modelSummarizer ? undefined : options.resources.find((r) => r.flushing.summaryModel !== undefined);
    if (modelled) {
      throw new CompozyError('CONFIG_INVALID', `Memory "${modelled.id}" summarizes with flushing.summary_model ${modelled.flushing.summaryModel}, and this memory manager was given no model to call it with.`, {
        hint: 'Pass createMemoryManager({ modelSummarizer: modelSummarizers({ projectDir, models, env }) }).',
        details: { memory_ref: modelled.id, field: 'flushing.summary_model' },
      });
    }
    // Only the encodings a resource counts with: a project without memories never loads a tokenizer (~300 ms of BPE tables at start-up).
    const encodings = new Set(options.resources.map((r) => r.tokenProvider?.encoding ?? DEFAULT_ENCODING));
    const counters = new Map(await Promise.all([...encodings].map(async (e) => [e, await loadTokenCounter(e)] as const)));
    // in_memory resources live in this process only, as Compozy's in-memory store: an SQLite :memory: KV.
    const local = options.resources.some((r) => r.persistence.type === 'in_memory') ? SqliteKv.open(':memory:') : undefined;
    return new MemoryManagerImpl(options, new MemoryStore(options.kv), local ? { kv: local, store: new MemoryStore(local) } : undefined, counters);
  }

  get driver(): 'sqlite' | 'redis' {
    return this.options.kv.driver;
  }

  get resources(): readonly MemoryResource[] {
    return this.options.resources;
  }

  private runtime(ref: string): ResourceRuntime {
    const runtime = this.byId.get(ref);
    if (!runtime) {
      const known = [...this.byId.keys()].sort();
      throw new CompozyError('MEMORY_NOT_FOUND', `Memory "${ref}" does not exist.`, {
        hint: known.length > 0 ? `Known memories: ${known.join(', ')}.` : 'The project defines no memory resource (memory/*.yaml with resource: memory).',
        details: { memory_ref: ref, known },
      });
    }
    return runtime;
  }

  resource(ref: string): MemoryResource {
    return this.runtime(ref).resource;
  }

  instance(ref: string, key: string): MemoryInstance {
    validateMemoryRef(ref);
    const runtime = this.runtime(ref);
    validateMemoryKey(key);
    return new MemoryInstanceImpl(runtime.resource, key, instanceKeys(this.options.project, ref, key), runtime.context);
  }

  async keys(ref: string, pattern: string, options: { maxKeys?: number } = {}): Promise<string[]> {
    const runtime = this.runtime(ref);
    const max = options.maxKeys ?? DEFAULT_MAX_KEYS;
    const found: string[] = [];
    for await (const metaKey of runtime.context.store.metaKeys(resourcePrefix(this.options.project, ref))) {
      const key = await runtime.context.store.renderedKey(metaKey);
      if (key !== null && globMatch(pattern, key)) found.push(key);
      if (found.length >= max) break;
    }
    return found.sort();
  }

  async health(): Promise<MemorySubsystemHealth> {
    let keys = 0;
    for (const [ref, runtime] of this.byId) {
      for await (const _ of runtime.context.store.metaKeys(resourcePrefix(this.options.project, ref))) keys++;
    }
    return { driver: this.driver, resources: this.byId.size, keys };
  }

  private warn(warning: MemoryWarning): void {
    if (this.options.onWarning) this.options.onWarning(warning);
    else process.emitWarning(warning.kind === 'corrupt_message' ? `memory ${warning.ref} "${warning.key}": message ${warning.index} skipped (${warning.reason})` : `memory ${warning.ref} "${warning.key}": flush failed: ${warning.error.message}`);
  }

  /**
   * Reference §5.5: the flush check runs 100 ms after the last append, at most 1 s after the first. An
   * append only records its time; the timer, when it fires early, re-arms itself for the rest, so a busy
   * conversation costs no timer churn per append.
   */
  private schedule(instance: MemoryInstanceImpl): void {
    if (this.closed) return;
    const id = instance.instanceKey;
    const now = Date.now();
    const existing = this.pending.get(id);
    if (existing) {
      existing.lastAt = now;
      return;
    }
    this.pending.set(id, { timer: this.arm(id, this.options.flushDebounceMs ?? 100), firstAt: now, lastAt: now, instance });
  }

  private arm(id: string, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.due(id), delayMs);
    timer.unref();
    return timer;
  }

  private due(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    const debounce = this.options.flushDebounceMs ?? 100;
    const maxWait = this.options.flushMaxWaitMs ?? 1000;
    const wait = Math.min(entry.lastAt + debounce, entry.firstAt + maxWait) - Date.now();
    if (wait > 0) entry.timer = this.arm(id, wait);
    else this.runFlush(id);
  }

  private runFlush(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    const run = entry.instance.flush().then(
      (result) => {
        if (!result.success && result.error && !/pending|holds the flush lock/.test(result.error)) this.warn({ kind: 'flush_failed', ref: entry.instance.ref, key: entry.instance.key, error: new Error(result.error) });
      },
      (error: unknown) => this.warn({ kind: 'flush_failed', ref: entry.instance.ref, key: entry.instance.key, error: error instanceof Error ? error : new Error(String(error)) }),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      this.runFlush(id);
    }
    await Promise.all([...this.running]);
    await this.local?.kv.close();
  }
}
