// The anchor of bench:engine: the Temporal TypeScript SDK's hello-world, one activity.
import { proxyActivities } from '@temporalio/workflow';

const { greet } = proxyActivities({ startToCloseTimeout: '1 minute' });

export async function rawHello(name) {
  return greet(name);
}
