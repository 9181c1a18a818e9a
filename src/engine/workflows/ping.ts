import { proxyActivities } from '@temporalio/workflow';
import type { SystemActivities } from '../activities/system.js';

const { describeWorker } = proxyActivities<SystemActivities>({ startToCloseTimeout: '30 seconds' });

export interface PingResult {
  message: string;
  worker: { pid: number; taskQueue: string };
}

/** End-to-end check of the platform: a workflow task and an activity both run on a live worker. */
export async function ping(message: string): Promise<PingResult> {
  const worker = await describeWorker();
  return { message, worker };
}
