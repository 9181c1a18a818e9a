import { existsSync, readFileSync } from 'node:fs';

/**
 * The tool pool's watchdog: a small process of its own, so it keeps working while a tool spins in a
 * CPU loop that starves the tool's event loop. The pool writes `+pid` / `-pid` lines on its stdin as
 * tool processes start and exit. When stdin ends (the pool's owner exited or was killed, even by
 * SIGKILL, since the kernel closes the pipe), every listed tool process still running is killed.
 * Where /proc can tell, a pid is killed only while its command line still names the tool worker
 * (argv[2]), so a reused pid is left alone. argv[3], the pool's entrypoint, only labels the process.
 */
const marker = process.argv[2] ?? '';
const pids = new Set<number>();
const haveProc = existsSync('/proc/self/cmdline');

function isToolProcess(pid: number): boolean {
  if (!haveProc) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

function killAll(): never {
  for (const pid of pids) {
    if (!isToolProcess(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(0);
}

let partial = '';
process.stdin.on('data', (chunk: Buffer) => {
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line.startsWith('+')) pids.add(pid);
    else if (line.startsWith('-')) pids.delete(pid);
  }
});
process.stdin.on('end', killAll);
process.stdin.on('error', killAll);
// Ctrl-C at a terminal reaches the whole foreground group; the pool's owner handles it and then closes stdin.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', killAll);
process.on('SIGHUP', killAll);
