import type { MemoryResource, ModelConfig } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import { callSettings, providerError } from '../../llm/agent-runner.js';
import { modelUnusable, resolveModel, type ResolvedModel } from '../../llm/models.js';
import { ReplayFixtures, type ModelScript } from '../../llm/replay.js';
import type { MemoryMessage, Summarizer } from '../types.js';
import { summaryHeader } from './summarizer.js';

export interface SummaryModelOptions {
  projectDir: string;
  /** The project's models: a summary_model that is a declared model's id takes its credentials and params. */
  models: readonly ModelConfig[];
  /** Process environment over the project's .env, as the agents resolve their models against it. */
  env: NodeJS.ProcessEnv;
  /** Answers every summary instead of the named model (compozy test, compozy/testing), as it answers the agents. */
  script?: ModelScript;
  /** Retries of one model call on 429 / 5xx / network errors, with backoff (default 3). */
  maxRetries?: number;
  /** Per model call (default 120 s). */
  timeoutMs?: number;
}

/** What the summary model is told; the conversation itself is the user message (summaryTranscript). */
function summaryInstructions(maxTokens: number): string {
  return [
    'You condense the oldest part of a conversation into a summary that replaces those messages in the memory of an assistant.',
    'Keep every fact, name, number, date, preference, decision and commitment, and any question still open; say who said or decided what.',
    'Leave out greetings, small talk and repetition. Do not add anything that is not in the conversation, and do not answer or continue it.',
    `Write plain text, no preamble, at most ${maxTokens} tokens.`,
  ].join(' ');
}

/** The messages as the transcript the model summarizes, one `role: content` block each, oldest first. */
export function summaryTranscript(messages: readonly MemoryMessage[]): string {
  return messages.map((m) => `${m.role}: ${m.content}`).join('\n\n');
}

/**
 * hybrid_summary with flushing.summary_model: the model writes the summary through the provider layer
 * the agents use (the same model resolution, credentials, params, retries and typed provider errors; a
 * replay model answers from its fixtures, matched by `when: {memory: <id>}`). summary_tokens bounds its
 * answer. A failure throws; the flush then fails and leaves the conversation as it was.
 */
export class ModelSummarizer implements Summarizer {
  private fixtures: ReplayFixtures | undefined;

  constructor(
    private readonly resource: MemoryResource,
    private readonly ref: string,
    private readonly options: SummaryModelOptions,
  ) {}

  async summarize(messages: readonly MemoryMessage[], options: { maxTokens: number }): Promise<string> {
    const transcript = summaryTranscript(messages);
    const { model, text } = await this.answer(messages, transcript, options.maxTokens);
    const summary = text.trim();
    if (summary === '') throw new CompozyError('LLM_OUTPUT_INVALID', `${model.provider}:${model.model} answered the summary request with no text.`, { details: { provider: model.provider, model: model.model } });
    return `${summaryHeader(messages.length)}\n${summary}`;
  }

  private async answer(messages: readonly MemoryMessage[], transcript: string, maxTokens: number): Promise<{ model: ResolvedModel; text: string }> {
    const { script, env, projectDir } = this.options;
    if (script) return { model: { provider: 'replay', model: 'scripted', params: {} }, text: script.answer(this.replayRequest(messages, transcript)) };
    const model = resolveModel(this.ref, this.options.models, env);
    const unusable = modelUnusable(model, env, projectDir);
    if (unusable) throw unusable;
    if (model.provider === 'replay') {
      this.fixtures ??= ReplayFixtures.load(projectDir, model.model);
      return { model, text: this.fixtures.answer(this.replayRequest(messages, transcript)) };
    }
    // Loaded on the first summary, as the agents load it on their first model call.
    const [ai, { languageModel }] = await Promise.all([import('ai'), import('../../llm/providers.js')]);
    try {
      const result = await ai.generateText({
        model: languageModel(model, env),
        system: summaryInstructions(maxTokens),
        prompt: transcript,
        ...callSettings(model),
        maxOutputTokens: maxTokens,
        maxRetries: this.options.maxRetries ?? 3,
        timeout: this.options.timeoutMs ?? 120_000,
      });
      return { model, text: result.text };
    } catch (error) {
      throw providerError(ai, error, model);
    }
  }

  private replayRequest(messages: readonly MemoryMessage[], transcript: string) {
    const input = { memory: this.resource.id, messages: messages.map((m) => ({ role: m.role, content: m.content })) };
    return { input, vars: { input }, prompt: transcript, history: input.messages };
  }
}

/** createMemoryManager's modelSummarizer: a ModelSummarizer over a resource's summary_model (resolved at each summary, as an agent's model is at each run). */
export function modelSummarizers(options: SummaryModelOptions): (resource: MemoryResource, summaryModel: string) => Summarizer {
  return (resource, summaryModel) => new ModelSummarizer(resource, summaryModel, options);
}
