export { compozyWorkflow } from './interpreter.js';
