export { ping } from './ping.js';
export { compozyWorkflow } from './interpreter.js';
