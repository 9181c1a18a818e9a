import type { TokenCounter } from '../tokens.js';
import type { MemoryMessage, Summarizer } from '../types.js';

const LINE_CHARS = 200;

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  const sentence = end >= 0 ? flat.slice(0, end + 1) : flat;
  return sentence.length > LINE_CHARS ? `${sentence.slice(0, LINE_CHARS - 1)}…` : sentence;
}

/** The first line of every summary message: how many messages it stands for. */
export function summaryHeader(count: number): string {
  return `Summary of ${count} earlier messages:`;
}

/**
 * hybrid_summary's summarizer when flushing names no summary_model (ModelSummarizer is the one that
 * does), as Compozy's engine's RuleBasedSummarizer: no model, one line per message (its role and first
 * sentence; an earlier summary keeps its own lines), newest lines dropped first until it fits maxTokens.
 */
export class RuleBasedSummarizer implements Summarizer {
  constructor(private readonly tokens: TokenCounter) {}

  async summarize(messages: readonly MemoryMessage[], options: { maxTokens: number }): Promise<string> {
    const header = summaryHeader(messages.length);
    const lines = messages.flatMap((m) => (m.role === 'system' && m.content.startsWith('Summary of ') ? m.content.split('\n').slice(1) : [`- ${m.role}: ${firstSentence(m.content)}`]));
    while (lines.length > 0 && this.tokens.count({ role: 'system', content: [header, ...lines].join('\n') }) > options.maxTokens) lines.pop();
    return [header, ...lines].join('\n');
  }
}
