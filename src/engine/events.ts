import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Broker, Consumer } from '../kv/kv.js';
import { CompozyError } from '../errors.js';
import { describeProblems, SchemaValidator } from '../platform/schema-validator.js';
import { ksuid } from '../store/ksuid.js';
import type { EngineClient } from './client.js';
import type { SignalDispatcher } from './executors.js';
import type { EngineProject } from './project.js';

export const EVENTS_EXCHANGE = 'compozy.events';

interface EventMessage {
  event_id: string;
  name: string;
  payload: unknown;
  source: { workflow_exec_id?: string; api?: true };
}

/**
 * Events (signal tasks, POST /api/v0/events) go through the KV broker: published to the
 * `compozy.events` topic exchange with the event name as routing key, and a dispatcher consumer
 * starts the workflow whose `type: signal` trigger has that name, with the payload as input. The
 * execution id is the event id, so a redelivered event never starts a second execution.
 */
export class EventBus implements SignalDispatcher {
  private readonly schemas = new SchemaValidator();
  private readonly queue: string;

  constructor(
    private readonly broker: Broker,
    private readonly project: EngineProject,
  ) {
    this.queue = `compozy.events.${project.name}`;
  }

  async setup(): Promise<void> {
    await this.broker.declareExchange(EVENTS_EXCHANGE, 'topic');
    await this.broker.declareQueue(`${this.queue}.dead`);
    await this.broker.declareQueue(this.queue, { maxAttempts: 5, deadLetter: `${this.queue}.dead` });
    for (const name of this.project.triggers.keys()) await this.broker.bind(this.queue, EVENTS_EXCHANGE, name);
  }

  /** Checks that a trigger takes the event and its payload, then publishes it; returns the event id. */
  async publish(name: string, payload: unknown, source: EventMessage['source']): Promise<string> {
    const trigger = this.project.triggers.get(name);
    if (!trigger) {
      throw new CompozyError('TRIGGER_NOT_FOUND', `No workflow has a signal trigger named "${name}".`, {
        hint: `Known signals: ${[...this.project.triggers.keys()].join(', ') || 'none'}.`,
      });
    }
    const problems = trigger.schema ? this.schemas.problems(trigger.schema, payload) : [];
    if (problems.length > 0) {
      throw new CompozyError('INPUT_INVALID', `Payload of signal "${name}" does not match its trigger schema: ${describeProblems(problems)}.`, { details: { errors: problems } });
    }
    const event: EventMessage = { event_id: ksuid(), name, payload, source };
    await this.broker.publish(EVENTS_EXCHANGE, name, event);
    return event.event_id;
  }

  async dispatch(name: string, payload: unknown, source: { workflowExecId: string }): Promise<void> {
    await this.publish(name, payload, { workflow_exec_id: source.workflowExecId });
  }

  /** Consumes events and starts their workflows; a start that fails is redelivered, then dead-lettered. */
  startDispatcher(engine: EngineClient, onError: (error: Error) => void): Promise<Consumer> {
    return this.broker.consume(
      this.queue,
      async (delivery) => {
        const event = delivery.body as EventMessage;
        const trigger = this.project.triggers.get(delivery.routingKey);
        if (!trigger) {
          // Queued before the trigger was removed from the project: kept as a dead letter, not dropped.
          await delivery.nack({ requeue: false });
          onError(new Error(`event "${delivery.routingKey}" (${event.event_id}) has no trigger any more; moved to ${this.queue}.dead`));
          return;
        }
        try {
          await engine.start(trigger.workflowId, event.payload, { execId: event.event_id });
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
      },
      { prefetch: 4, onError },
    );
  }
}
