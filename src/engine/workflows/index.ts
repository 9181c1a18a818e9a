export { compozyBatch, compozyWorkflow } from './interpreter.js';
export { compozyScheduledRun } from './scheduled.js';
