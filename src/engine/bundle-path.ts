import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const WORKFLOWS_ENTRY = join(here, 'workflows', 'index.js');
export const WORKFLOW_BUNDLE_PATH = join(here, '..', 'workflow-bundle.js');
