import { compileRedactPattern } from '../config/memory-resource.js';
import type { MemoryResource } from '../config/types.js';
import type { MemoryMessage } from './types.js';

/** privacy_policy of a resource, applied to messages before anything is persisted. */
export class PrivacyFilter {
  private readonly patterns: RegExp[];
  private readonly dropRoles: ReadonlySet<string>;
  private readonly replacement: string;

  constructor(policy: MemoryResource['privacyPolicy']) {
    this.patterns = policy.redactPatterns.map(compileRedactPattern);
    this.dropRoles = new Set(policy.nonPersistableMessageTypes);
    this.replacement = policy.defaultRedactionString;
  }

  /** The messages to store: non-persistable roles left out, the rest redacted. */
  apply(messages: readonly MemoryMessage[]): MemoryMessage[] {
    return messages.filter((m) => !this.dropRoles.has(m.role)).map((m) => (this.patterns.length === 0 ? m : { role: m.role, content: this.redact(m.content) }));
  }

  private redact(content: string): string {
    return this.patterns.reduce((text, pattern) => text.replace(pattern, () => this.replacement), content);
  }
}
