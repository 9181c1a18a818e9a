import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestServer } from '../../src/testing/test-server.js';
import { tempDir, writeScript } from '../helpers/fake-bin.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

describe('compozy/testing and the Temporal CLI install', () => {
  it("sends the install progress to its log option, never to the host's stderr", async () => {
    // No Temporal CLI anywhere, an unreachable release host, and a `go` that "builds" a CLI that is no server.
    const root = tempDir('testing-log');
    const goDir = join(root, 'go');
    writeScript(goDir, 'go', `printf '#!/bin/sh\\necho "temporal version 1.5.1 (Server 1.29.1)"\\n' > "$GOBIN/temporal"\nchmod +x "$GOBIN/temporal"`);
    process.env = { ...saved, HOME: root, XDG_CACHE_HOME: join(root, 'cache'), PATH: `${goDir}:/usr/bin:/bin`, COMPOZY_TEMPORAL_RELEASE_HOST: 'http://127.0.0.1:9' };
    delete process.env.COMPOZY_TEMPORAL_BIN;
    const stderr = vi.spyOn(process.stderr, 'write');
    const lines: string[] = [];
    // The fake CLI cannot serve, so the start itself fails; what matters is where the install said what it did.
    await expect(startTestServer({ namespace: 'default', log: (line) => lines.push(line) })).rejects.toMatchObject({ code: 'TEMPORAL_START_FAILED' });
    expect(lines.some((line) => line.includes('building from the Go module proxy'))).toBe(true);
    expect(stderr.mock.calls.map(([chunk]) => String(chunk)).filter((chunk) => chunk.includes('Go module proxy'))).toEqual([]);
  }, 60_000);
});
