// npm's `prepare`: builds after `npm ci` / `npm install` in a clone and before `npm pack`. `npx compozy`
// in a clone runs it too: npm first links the folder into its npx cache (npm_command=exec), which
// rebuilt everything (~25 s) before the command printed anything. A clone that is built already is
// not built again for that; `npm run build` rebuilds after a change, as always.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const built = existsSync(join(import.meta.dirname, '..', 'dist', 'index.js'));
if (process.env.npm_command !== 'exec' || !built) {
  const { status, signal } = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
  process.exit(status ?? (signal ? 1 : 0));
}
