import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_ENTRY } from './bundle-path.js';

/** Runs at `npm run build`: workers load this bundle, so no process bundles workflow code at start-up. */
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_ENTRY, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m) => console.warn(m), error: (m) => console.error(m) } });
writeFileSync(WORKFLOW_BUNDLE_PATH, code);
console.log(`workflow bundle written to ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
