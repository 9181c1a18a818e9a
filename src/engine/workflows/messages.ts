import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LiveState } from '../protocol.js';

/** The interpreter's messages, shared by the workflow and the API that sends them. */
export const WORKFLOW_TYPE = 'compozyWorkflow';
/** What a project's Temporal Schedules start (workflows/scheduled.ts). */
export const SCHEDULED_RUN_TYPE = 'compozyScheduledRun';
export const stateQuery = defineQuery<LiveState>('compozy.state');
export const deliverSignal = defineSignal<[{ name: string; payload: unknown }]>('compozy.signal');
export const pauseSignal = defineSignal('compozy.pause');
export const resumeSignal = defineSignal('compozy.resume');
