import { DEFAULT_ENCODING, encodingNames, modelToEncodingMap } from 'gpt-tokenizer/mapping';
import * as openAiModels from 'gpt-tokenizer/models';
import { isObj, resourceSources, suggestion, type Obj, type Reader } from './read.js';
import {
  MEMORY_EVICTION_POLICIES,
  MEMORY_FLUSH_STRATEGIES,
  MEMORY_ROLES,
  MEMORY_TYPES,
  type MemoryEvictionPolicy,
  type MemoryFlushStrategy,
  type MemoryResource,
  type MemoryType,
} from './types.js';
import type { YamlFile, YamlPath } from './yaml-file.js';

const FIELDS = new Set([
  'resource', 'id', 'description', 'version', 'key', 'default_key_template', 'type', 'max_tokens', 'max_messages', 'max_context_ratio', 'token_allocation',
  'flushing', 'eviction_policy', 'persistence', 'privacy_policy', 'locking', 'token_provider',
]);
const ALLOCATION_FIELDS = new Set(['short_term', 'long_term', 'system', 'user_defined']);
const FLUSHING_FIELDS = new Set(['type', 'summarize_threshold', 'summary_tokens', 'summarize_oldest_percent', 'summary_model']);
const EVICTION_FIELDS = new Set(['type', 'priority_keywords']);
const PERSISTENCE_FIELDS = new Set(['type', 'ttl', 'circuit_breaker']);
const BREAKER_FIELDS = new Set(['enabled', 'max_failures', 'reset_timeout']);
const PRIVACY_FIELDS = new Set(['redact_patterns', 'non_persistable_message_types', 'default_redaction_string']);
const LOCKING_FIELDS = new Set(['append_ttl', 'clear_ttl', 'flush_ttl']);
const TOKEN_PROVIDER_FIELDS = new Set(['provider', 'model', 'api_key_env', 'endpoint']);

/** Reference §5.1 defaults (engine/memory/config.go, core/types.go). */
export const MEMORY_DEFAULTS = {
  summarizeThreshold: 0.8,
  summarizeOldestPercent: 0.3,
  redaction: '[REDACTED]',
  clearTtlMs: 10_000,
  flushTtlMs: 5 * 60_000,
  breakerMaxFailures: 5,
  breakerResetMs: 30_000,
} as const;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Go duration syntax plus days and weeks ("168h", "7d"), as Compozy's ParseHumanDuration reads TTLs; undefined when invalid or zero. */
export function parseHumanDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)/g)) total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  const ms = Math.round(total);
  return ms > 0 ? ms : undefined;
}

/** A regex as Go writes it (RE2) compiled for JavaScript: a leading `(?i)`/`(?s)`/`(?m)` becomes a flag. */
export function compileRedactPattern(pattern: string): RegExp {
  const inline = /^\(\?([ims]+)\)/.exec(pattern);
  const flags = new Set(['g', ...(inline ? (inline[1] as string).split('') : [])]);
  return new RegExp(inline ? pattern.slice(inline[0].length) : pattern, [...flags].join(''));
}

interface ModelSpec {
  context_window?: number;
}

function modelSpec(model: string): ModelSpec | undefined {
  const spec = (openAiModels as unknown as Record<string, unknown>)[model];
  return isObj(spec) ? (spec as ModelSpec) : undefined;
}

/** The gpt-tokenizer encoding for a token_provider model: an encoding name, or an OpenAI model it knows. */
export function encodingFor(model: string): { encoding: string; contextWindow?: number } | undefined {
  if ((encodingNames as readonly string[]).includes(model)) return { encoding: model };
  const spec = modelSpec(model);
  if (!spec) return undefined;
  const encoding = (modelToEncodingMap as Record<string, string>)[model] ?? DEFAULT_ENCODING;
  return { encoding, ...(typeof spec.context_window === 'number' ? { contextWindow: spec.context_window } : {}) };
}

class MemoryReader {
  constructor(
    protected readonly r: Reader,
    private readonly base: YamlPath,
  ) {}

  at(...path: Array<string | number>): YamlPath {
    return [...this.base, ...path];
  }

  error(path: YamlPath, message: string, hint?: string): void {
    this.r.error(this.at(...path), message, hint);
  }

  section(raw: Obj, key: string, fields: ReadonlySet<string>, what: string): Obj | undefined {
    if (raw[key] === undefined || raw[key] === null) return undefined;
    const value = this.r.map(raw, this.base, key);
    this.r.knownKeys(value, this.at(key), fields, what);
    return value;
  }

  /** A number in (min, max] (or [min, max] when inclusive), or an integer ≥ 1. */
  fraction(obj: Obj, path: Array<string | number>, key: string, options: { inclusiveZero?: boolean } = {}): number | undefined {
    const value = this.r.number(obj, this.at(...path), key);
    if (value === undefined) return undefined;
    const low = options.inclusiveZero ? value >= 0 : value > 0;
    if (!low || value > 1) {
      this.error([...path, key], `"${key}" must be ${options.inclusiveZero ? 'between 0 and 1' : 'greater than 0 and at most 1'}, not ${value}.`);
      return undefined;
    }
    return value;
  }

  count(obj: Obj, path: Array<string | number>, key: string): number | undefined {
    const value = this.r.number(obj, this.at(...path), key);
    if (value === undefined) return undefined;
    if (!Number.isSafeInteger(value) || value < 1) {
      this.error([...path, key], `"${key}" must be a whole number of at least 1, not ${value}.`);
      return undefined;
    }
    return value;
  }

  duration(obj: Obj, path: Array<string | number>, key: string): number | undefined {
    const text = this.r.string(obj, this.at(...path), key);
    if (text === undefined) return undefined;
    const ms = parseHumanDuration(text);
    if (ms === undefined) this.error([...path, key], `"${text}" is not a valid duration.`, 'Use e.g. 30s, 5m, 24h or 7d.');
    return ms;
  }

  oneOf<T extends string>(obj: Obj, path: Array<string | number>, key: string, allowed: readonly T[], what: string, required = false): T | undefined {
    const value = this.r.string(obj, this.at(...path), key, required);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      this.error([...path, key], `Unknown ${what} "${value}".`, suggestion(value, allowed, what));
      return undefined;
    }
    return value as T;
  }

  strings(obj: Obj, path: Array<string | number>, key: string): string[] {
    return this.r.list(obj, this.at(...path), key).flatMap((item, i) => {
      if (typeof item === 'string') return [item];
      this.error([...path, key, i], `"${key}" holds strings only.`);
      return [];
    });
  }
}

/** The sections of a memory resource, each read into its typed form with diagnostics at its keys. */
class MemorySections extends MemoryReader {
  tokenAllocation(raw: Obj): MemoryResource['tokenAllocation'] {
    const section = this.section(raw, 'token_allocation', ALLOCATION_FIELDS, 'token_allocation');
    if (!section) return undefined;
    const part = (k: string) => this.fraction(section, ['token_allocation'], k, { inclusiveZero: true }) ?? 0;
    // Compozy's engine sums user_defined shares when validating and applies them nowhere
    // (TokenMemoryManager.ApplyTokenAllocation is a no-op): no message belongs to a user-defined share, so
    // the history could only leave it unspent. Refused rather than accepted and ignored.
    if (section.user_defined !== undefined) {
      this.error(['token_allocation', 'user_defined'], 'token_allocation.user_defined is not supported: no stored message belongs to a user-defined share, so the history could never use it.', 'Remove user_defined and give its share to short_term, long_term or system.');
    }
    const allocation = { shortTerm: part('short_term'), longTerm: part('long_term'), system: part('system') };
    const sum = allocation.shortTerm + allocation.longTerm + allocation.system;
    if (section.user_defined === undefined && Math.abs(sum - 1) > 0.001) this.error(['token_allocation'], `The token_allocation parts sum to ${Number(sum.toFixed(3))}; they must sum to 1.`, 'E.g. short_term: 0.6, long_term: 0.3, system: 0.1.');
    return allocation;
  }

  flushing(raw: Obj): MemoryResource['flushing'] {
    const section = this.section(raw, 'flushing', FLUSHING_FIELDS, 'flushing');
    const type = (section && this.oneOf<MemoryFlushStrategy>(section, ['flushing'], 'type', MEMORY_FLUSH_STRATEGIES, 'flushing strategy', true)) || 'simple_fifo';
    const summaryTokens = section ? this.count(section, ['flushing'], 'summary_tokens') : undefined;
    const oldest = section ? this.fraction(section, ['flushing'], 'summarize_oldest_percent') : undefined;
    const summaryModel = section ? this.summaryModel(section) : undefined;
    if (section && type !== 'hybrid_summary') {
      for (const k of ['summary_tokens', 'summarize_oldest_percent', 'summary_model']) {
        if (section[k] !== undefined) this.error(['flushing', k], `flushing.${k} has no effect with flushing.type ${type}: only hybrid_summary summarizes.`, `Remove ${k}, or use type: hybrid_summary.`);
      }
    }
    if (type === 'hybrid_summary' && section?.summary_tokens === undefined) {
      this.error(['flushing'], 'hybrid_summary flushing needs summary_tokens (the size of the summary message).', 'Add summary_tokens: 500 under flushing.');
    }
    return {
      type,
      summarizeThreshold: (section && this.fraction(section, ['flushing'], 'summarize_threshold')) ?? MEMORY_DEFAULTS.summarizeThreshold,
      summarizeOldestPercent: oldest ?? MEMORY_DEFAULTS.summarizeOldestPercent,
      ...(summaryTokens !== undefined ? { summaryTokens } : {}),
      ...(summaryModel !== undefined ? { summaryModel } : {}),
    };
  }

  /**
   * flushing.summary_model: a model ref as an agent's model: is written (provider:model, a declared
   * model's id, or a template over .env); validateProject resolves it against the project's models.
   */
  private summaryModel(section: Obj): string | undefined {
    const value = section.summary_model;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') {
      this.error(['flushing', 'summary_model'], 'flushing.summary_model names a model: provider:model, or the id of a model declared under models:.', 'E.g. summary_model: openai:gpt-4o-mini.');
      return undefined;
    }
    return value;
  }

  evictionPolicy(raw: Obj, flushing: MemoryFlushStrategy): MemoryResource['evictionPolicy'] {
    const section = this.section(raw, 'eviction_policy', EVICTION_FIELDS, 'eviction_policy');
    const type = (section && this.oneOf<MemoryEvictionPolicy>(section, ['eviction_policy'], 'type', MEMORY_EVICTION_POLICIES, 'eviction policy', true)) || 'fifo';
    const priorityKeywords = section ? this.strings(section, ['eviction_policy'], 'priority_keywords') : [];
    if (section?.priority_keywords !== undefined && type !== 'priority') {
      this.error(['eviction_policy', 'priority_keywords'], `priority_keywords has no effect with eviction_policy.type ${type}.`, 'Use type: priority, or remove priority_keywords.');
    }
    if (type === 'priority' && priorityKeywords.length === 0) this.error(['eviction_policy'], 'The priority eviction policy needs priority_keywords.', 'Add priority_keywords: [important, remember].');
    if (section && type !== 'fifo' && flushing !== 'lru' && flushing !== 'token_aware_lru') {
      this.error(['eviction_policy', 'type'], `eviction_policy ${type} has no effect with flushing.type ${flushing}: only lru and token_aware_lru flushing choose which messages to evict.`, 'Use flushing.type lru or token_aware_lru, or remove eviction_policy.');
    }
    return { type, priorityKeywords };
  }

  persistence(raw: Obj): MemoryResource['persistence'] | undefined {
    const section = this.section(raw, 'persistence', PERSISTENCE_FIELDS, 'persistence');
    if (!section) {
      this.error([], 'A memory needs persistence: {type: redis, ttl: 24h} (or type: in_memory).', 'Add a persistence block; "redis" means the project\'s KV (SQLite in standalone).');
      return undefined;
    }
    const type = this.oneOf<'redis' | 'in_memory'>(section, ['persistence'], 'type', ['redis', 'in_memory'], 'persistence type', true);
    const ttlMs = this.duration(section, ['persistence'], 'ttl');
    if (type === 'redis' && section.ttl === undefined) this.error(['persistence'], 'persistence.ttl is required for persistence type redis.', 'Add ttl: 168h (refreshed on every write).');
    const circuitBreaker = this.circuitBreaker(section);
    return type ? { type, ...(ttlMs !== undefined ? { ttlMs } : {}), ...(circuitBreaker ? { circuitBreaker } : {}) } : undefined;
  }

  private circuitBreaker(persistence: Obj): MemoryResource['persistence']['circuitBreaker'] {
    if (persistence.circuit_breaker === undefined) return undefined;
    const at = ['persistence', 'circuit_breaker'];
    const section = this.r.map(persistence, this.at('persistence'), 'circuit_breaker');
    this.r.knownKeys(section, this.at(...at), BREAKER_FIELDS, 'circuit_breaker');
    const enabled = this.r.bool(section, this.at(...at), 'enabled');
    const maxFailures = this.count(section, at, 'max_failures');
    const resetMs = this.duration(section, at, 'reset_timeout');
    if (!enabled && (section.max_failures !== undefined || section.reset_timeout !== undefined)) {
      this.error(at, 'circuit_breaker settings have no effect while enabled is not true.', 'Add enabled: true, or remove the circuit_breaker block.');
    }
    return { enabled, maxFailures: maxFailures ?? MEMORY_DEFAULTS.breakerMaxFailures, resetTimeoutMs: resetMs ?? MEMORY_DEFAULTS.breakerResetMs };
  }

  privacyPolicy(raw: Obj): MemoryResource['privacyPolicy'] {
    const section = this.section(raw, 'privacy_policy', PRIVACY_FIELDS, 'privacy_policy');
    const redactPatterns = section ? this.strings(section, ['privacy_policy'], 'redact_patterns') : [];
    redactPatterns.forEach((pattern, i) => {
      try {
        compileRedactPattern(pattern);
      } catch (error) {
        this.error(['privacy_policy', 'redact_patterns', i], `Redact pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}.`);
      }
    });
    const nonPersistable = section ? this.strings(section, ['privacy_policy'], 'non_persistable_message_types') : [];
    nonPersistable.forEach((type, i) => {
      if (!(MEMORY_ROLES as readonly string[]).includes(type.toLowerCase())) {
        this.error(['privacy_policy', 'non_persistable_message_types', i], `"${type}" is not a message role, so it would never match a message.`, `Message types are roles: ${MEMORY_ROLES.join(', ')}.`);
      }
    });
    const redaction = section ? this.r.string(section, this.at('privacy_policy'), 'default_redaction_string') : undefined;
    if (redaction !== undefined && redactPatterns.length === 0) {
      this.error(['privacy_policy', 'default_redaction_string'], 'default_redaction_string has no effect without redact_patterns.', 'Add redact_patterns, or remove default_redaction_string.');
    }
    return { redactPatterns, nonPersistableMessageTypes: nonPersistable.map((t) => t.toLowerCase()), defaultRedactionString: redaction ?? MEMORY_DEFAULTS.redaction };
  }

  locking(raw: Obj): MemoryResource['locking'] {
    const section = this.section(raw, 'locking', LOCKING_FIELDS, 'locking');
    if (section?.append_ttl !== undefined) {
      this.error(['locking', 'append_ttl'], 'locking.append_ttl has no effect here: an append is one atomic KV operation and takes no lock.', 'Remove append_ttl; clear_ttl and flush_ttl are the locks memory takes.');
    }
    return {
      clearTtlMs: (section && this.duration(section, ['locking'], 'clear_ttl')) ?? MEMORY_DEFAULTS.clearTtlMs,
      flushTtlMs: (section && this.duration(section, ['locking'], 'flush_ttl')) ?? MEMORY_DEFAULTS.flushTtlMs,
    };
  }

  tokenProvider(raw: Obj): MemoryResource['tokenProvider'] {
    const section = this.section(raw, 'token_provider', TOKEN_PROVIDER_FIELDS, 'token_provider');
    if (!section) return undefined;
    const provider = this.r.string(section, this.at('token_provider'), 'provider', true);
    const model = this.r.string(section, this.at('token_provider'), 'model', true);
    for (const k of ['api_key_env', 'endpoint']) {
      if (section[k] !== undefined) this.error(['token_provider', k], `token_provider.${k} is not supported: tokens are counted locally with gpt-tokenizer, never by a remote API.`, `Remove ${k}.`);
    }
    if (provider !== undefined && provider !== 'openai') {
      this.error(['token_provider', 'provider'], `No local tokenizer for provider "${provider}": memory counts tokens with OpenAI's encodings (gpt-tokenizer).`, 'Use provider: openai with a model or encoding name (o200k_base, cl100k_base…), or remove token_provider (o200k_base is the default).');
      return undefined;
    }
    if (provider === undefined || model === undefined) return undefined;
    const resolved = encodingFor(model);
    if (!resolved) this.error(['token_provider', 'model'], `"${model}" is neither an OpenAI model nor an encoding gpt-tokenizer knows.`, `Encodings: ${encodingNames.join(', ')}.`);
    return resolved ? { provider, model, ...resolved } : undefined;
  }
}

/**
 * A `resource: memory` document (reference §5.1) with every field parsed and checked; each problem is a
 * diagnostic at its key. A field this runtime cannot honour is refused by name rather than dropped.
 */
export function readMemoryResource(r: Reader, raw: Obj, base: YamlPath, file: YamlFile): MemoryResource | undefined {
  const m = new MemorySections(r, base);
  r.knownKeys(raw, base, FIELDS, 'memory');
  const id = r.string(raw, base, 'id', true);
  if (id !== undefined && !/^[A-Za-z0-9_-]{1,100}$/.test(id)) m.error(['id'], `Memory id "${id}" must be 1 to 100 letters, digits, "_" or "-".`, 'Memory tasks and the API address a memory by this id.');
  const description = r.string(raw, base, 'description');
  const version = r.string(raw, base, 'version');
  const key = r.string(raw, base, 'key');
  const defaultKey = r.string(raw, base, 'default_key_template');
  if (key !== undefined && defaultKey !== undefined) m.error(['default_key_template'], 'Give the key template once: key and default_key_template mean the same.', 'Keep key: and remove default_key_template:.');
  const type = m.oneOf<MemoryType>(raw, [], 'type', MEMORY_TYPES, 'memory type', true);
  const maxTokens = m.count(raw, [], 'max_tokens');
  const maxMessages = m.count(raw, [], 'max_messages');
  const maxContextRatio = m.fraction(raw, [], 'max_context_ratio');
  const tokenAllocation = m.tokenAllocation(raw);
  const flushing = m.flushing(raw);
  const evictionPolicy = m.evictionPolicy(raw, flushing.type);
  const persistence = m.persistence(raw);
  const privacyPolicy = m.privacyPolicy(raw);
  const locking = m.locking(raw);
  const tokenProvider = m.tokenProvider(raw);

  if (type === 'token_based' && raw.max_tokens === undefined && raw.max_context_ratio === undefined) m.error(['type'], 'token_based memory needs max_tokens or max_context_ratio.', 'Add max_tokens: 2000.');
  if (type === 'message_count_based' && raw.max_messages === undefined) m.error(['type'], 'message_count_based memory needs max_messages.', 'Add max_messages: 100.');
  if (maxContextRatio !== undefined && raw.token_provider === undefined) {
    m.error(['max_context_ratio'], 'max_context_ratio needs token_provider: its model gives the context window the ratio applies to.', 'Add token_provider: {provider: openai, model: gpt-4o}, or use max_tokens.');
  } else if (maxContextRatio !== undefined && tokenProvider && tokenProvider.contextWindow === undefined) {
    m.error(['max_context_ratio'], `token_provider.model "${tokenProvider.model}" names an encoding, not a model, so there is no context window for max_context_ratio.`, 'Name a model (e.g. gpt-4o), or use max_tokens.');
  }
  if (!id || !type || !persistence) return undefined;
  const keyTemplate = key ?? defaultKey;
  return {
    file, path: base, id, type,
    ...(description !== undefined ? { description } : {}), ...(version !== undefined ? { version } : {}), ...(keyTemplate !== undefined ? { key: keyTemplate } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}), ...(maxMessages !== undefined ? { maxMessages } : {}), ...(maxContextRatio !== undefined ? { maxContextRatio } : {}),
    ...(tokenAllocation ? { tokenAllocation } : {}),
    flushing, evictionPolicy, persistence, privacyPolicy, locking,
    ...(tokenProvider ? { tokenProvider } : {}),
  };
}

/** `resources: {memories: [{id, source}]}` of a workflow: each source a `resource: memory` file whose id must match. */
export function memorySources(r: Reader, raw: Obj): Array<{ id: string; source: string; path: YamlPath }> {
  if (raw.resources === undefined || raw.resources === null) return [];
  const resources = r.map(raw, [], 'resources');
  r.knownKeys(resources, ['resources'], new Set(['memories', 'tasks']), 'resources');
  return resourceSources(r, resources, 'memories', 'memory');
}

/**
 * Every memory resource of a project: autoloaded ones and those workflows bring, each file once (two
 * workflows may name the same file). Ids are project-wide: memory tasks, agents and the API address them.
 */
export function projectMemories(project: { memories: readonly MemoryResource[]; workflows: ReadonlyArray<{ memories: readonly MemoryResource[] }> }): MemoryResource[] {
  const seen = new Set<string>();
  return [...project.memories, ...project.workflows.flatMap((w) => w.memories)].filter((memory) => {
    const where = `${memory.file.path}\0${memory.id}`;
    if (seen.has(where)) return false;
    seen.add(where);
    return true;
  });
}
