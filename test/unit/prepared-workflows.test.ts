import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
// From dist: the workflow bundle is a build output next to it.
import { ENGINE_ACTIVITY_NAMES } from '../../dist/engine/activities/names.js';
import { prepareWorkflows, startWorker } from '../../dist/temporal/worker.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

const target = { namespace: 'default', taskQueue: 'prepared-workflows-test' };
const activitiesFor = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, async () => undefined]));

describe('prepareWorkflows', () => {
  let temporal: TestTemporal;
  beforeAll(async () => {
    temporal = await startTemporal(inject('temporalBin'));
  }, 60_000);
  afterAll(async () => {
    await temporal?.stop();
  });

  const options = () => ({ address: temporal.address, ...target, connectTimeoutMs: 10_000 });

  it('a worker takes the thread prepared for its activities, once; another set of activities is refused by name, and the thread discarded', async () => {
    const workflows = prepareWorkflows(target, ENGINE_ACTIVITY_NAMES);
    await workflows.started;
    await expect(startWorker({ ...options(), activities: activitiesFor(['executeTask']), workflows })).rejects.toThrow(
      /prepared for the activities executeTask, beginTask.*, not executeTask$/,
    );
    await expect(startWorker({ ...options(), activities: activitiesFor(ENGINE_ACTIVITY_NAMES), workflows })).rejects.toThrow(/already handed to a worker, or discarded/);

    const other = prepareWorkflows(target, ENGINE_ACTIVITY_NAMES);
    const worker = await startWorker({ ...options(), activities: activitiesFor(ENGINE_ACTIVITY_NAMES), workflows: other });
    try {
      expect(worker.state()).toBe('RUNNING');
      await expect(startWorker({ ...options(), activities: activitiesFor(ENGINE_ACTIVITY_NAMES), workflows: other })).rejects.toThrow(/already handed to a worker, or discarded/);
    } finally {
      await worker.shutdown();
    }
  }, 60_000);

  it('discard ends a thread no worker took: none can take it afterwards', async () => {
    const workflows = prepareWorkflows(target, ENGINE_ACTIVITY_NAMES);
    await workflows.started;
    await workflows.discard();
    await expect(startWorker({ ...options(), activities: activitiesFor(ENGINE_ACTIVITY_NAMES), workflows })).rejects.toThrow(/already handed to a worker, or discarded/);
  }, 60_000);
});
