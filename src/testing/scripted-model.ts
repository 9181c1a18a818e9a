import { CompozyError } from '../errors.js';
import { ReplayFixtures, type ModelScript, type ReplayAnswer, type ReplayRequest } from '../llm/replay.js';

/** One scripted model answer, as in a replay fixtures file: for an agent (and action, and input subset), the output or text. */
export type ModelAnswer = ReplayAnswer;

/** What a scripted model is asked. */
export interface ModelCall {
  agent: string | undefined;
  action: string | undefined;
  /** The task's rendered `with`. */
  input: Record<string, unknown>;
}

/** A model as a function: an object (the JSON answer) or a string (the text answer). */
export type ModelFunction = (call: ModelCall) => unknown;

/** Scripted answers: a list like a replay file's, or a function. */
export type ModelAnswers = readonly ModelAnswer[] | ModelFunction;

/** A ModelScript over answers given in code (or a test case file, named in errors). */
export function scriptFrom(answers: ModelAnswers, source: string): ModelScript {
  if (typeof answers === 'function') {
    return {
      answer(request: ReplayRequest): string {
        const value = answers({ agent: request.agentId, action: request.actionId, input: request.input });
        if (value === undefined) {
          throw new CompozyError('LLM_REPLAY_MISSING', `The scripted model of ${source} gave no answer for agent ${request.agentId ?? '(none)'}${request.actionId ? `, action ${request.actionId}` : ''}.`);
        }
        return typeof value === 'string' ? value : JSON.stringify(value);
      },
    };
  }
  return new ReplayFixtures(source, [...answers]);
}

/**
 * The model script of a test environment: the answers of the execution a call belongs to (from its
 * template context's workflow.exec_id), else the environment's own answers.
 */
export class ScriptRouter implements ModelScript {
  private readonly perExecution = new Map<string, ModelScript>();

  constructor(private readonly fallback: ModelScript | undefined) {}

  set(execId: string, script: ModelScript): void {
    this.perExecution.set(execId, script);
  }

  delete(execId: string): void {
    this.perExecution.delete(execId);
  }

  answer(request: ReplayRequest): string {
    const workflow = request.vars.workflow as { exec_id?: unknown } | undefined;
    const script = (typeof workflow?.exec_id === 'string' ? this.perExecution.get(workflow.exec_id) : undefined) ?? this.fallback;
    if (!script) {
      throw new CompozyError('LLM_REPLAY_MISSING', `No scripted answer for agent ${request.agentId ?? '(none)'}${request.actionId ? `, action ${request.actionId}` : ''}: a test environment calls no real model.`, {
        hint: 'Give the run answers (run(workflow, input, { answers })), or the environment models: { replay } or { answers }.',
      });
    }
    return script.answer(request);
  }
}
