export { compozyBatch, compozyWorkflow } from './interpreter.js';
