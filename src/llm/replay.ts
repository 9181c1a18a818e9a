import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CompozyError } from '../errors.js';
import { templates } from '../expr/template.js';

/**
 * The `replay` provider: answers from a fixtures file in the project (`replay/<model>.yaml` for
 * `replay:<model>`), for offline demos and CI smoke runs. Each answer names the agent and action it is
 * for, optionally `when:` (a subset of the task input that must match), and the `output` (an object,
 * whose strings may use templates over `.input` and `.history`, the remembered turns) or `text` the
 * model would have returned.
 */
export interface ReplayAnswer {
  agent?: string;
  action?: string;
  when?: Record<string, unknown>;
  output?: unknown;
  text?: string;
}

export interface ReplayRequest {
  agentId?: string;
  actionId?: string;
  input: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** The rendered prompt the model is sent. */
  prompt?: string;
  /** The prior turns from the agent's memories, oldest first, sent before the prompt. */
  history?: ReadonlyArray<{ role: string; content: string }>;
}

function matches(when: Record<string, unknown>, input: Record<string, unknown>): boolean {
  return Object.entries(when).every(([key, value]) => JSON.stringify(input[key]) === JSON.stringify(value));
}

/** Where replay answers come from: a fixtures file, or a test's scripted answers. */
export interface ModelScript {
  /** The model text for a call. */
  answer(request: ReplayRequest): string;
}

export class ReplayFixtures implements ModelScript {
  private readonly answers: ReplayAnswer[];

  constructor(
    readonly file: string,
    answers: ReplayAnswer[],
  ) {
    this.answers = answers;
  }

  static path(projectDir: string, model: string): string {
    return join(projectDir, 'replay', `${model}.yaml`);
  }

  static load(projectDir: string, model: string): ReplayFixtures {
    const file = ReplayFixtures.path(projectDir, model);
    if (!existsSync(file)) {
      throw new CompozyError('LLM_REPLAY_MISSING', `Model replay:${model} answers from ${file}, which does not exist.`, {
        hint: 'Create it with answers: [{agent, action, output}], or choose another model.',
      });
    }
    let data: unknown;
    try {
      data = parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new CompozyError('CONFIG_INVALID', `Replay fixtures ${file} are not valid YAML: ${(error as Error).message}`);
    }
    const answers = (data as { answers?: unknown } | null)?.answers;
    if (!Array.isArray(answers) || answers.some((a) => a === null || typeof a !== 'object' || (a.output === undefined && typeof a.text !== 'string'))) {
      throw new CompozyError('CONFIG_INVALID', `Replay fixtures ${file} need answers: a list of {agent, action?, when?, output | text}.`);
    }
    return new ReplayFixtures(file, answers as ReplayAnswer[]);
  }

  /** The model text for a call: `text` as written, `output` rendered and serialised as JSON. */
  answer(request: ReplayRequest): string {
    const found = this.answers.find(
      (a) => (a.agent ?? undefined) === request.agentId && (a.action === undefined || a.action === request.actionId) && (!a.when || matches(a.when, request.input)),
    );
    if (!found) {
      const asked = `agent ${request.agentId ?? '(none)'}${request.actionId ? `, action ${request.actionId}` : ''}, input ${JSON.stringify(request.input)}`;
      throw new CompozyError('LLM_REPLAY_MISSING', `No replay answer in ${this.file} for ${asked}.`, {
        hint: 'Add an answer with that agent and action (and a when: matching the input if answers differ by input).',
      });
    }
    if (typeof found.text === 'string') return found.text;
    // `.history` is what the agent's memories sent before the prompt, so an offline answer can show what was remembered.
    const rendered = templates.renderValue(found.output, { ...request.vars, history: request.history ?? [] });
    return typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
  }
}
