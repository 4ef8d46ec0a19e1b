// A process of the scaled-out service started before (or without) its Redis: it waits for Redis up to
// REDIS_CONNECT_TIMEOUT_MS, then stops with exit status 1 and one line that says why.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort, repositoryRoot } from '../robustness/server-process.js';

describe.concurrent('a process whose Redis never answers', () => {
  it.each(['api', 'worker'])('ROLE=%s stops after REDIS_CONNECT_TIMEOUT_MS with exit status 1 and one line naming Redis', async (role) => {
    const port = await freePort(); // nothing listens there
    // Longer than Fastify's default 10 s for a plugin to start, which used to cut the wait short
    // with "Plugin did not start in time".
    const connectTimeoutMs = 10_500;
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: repositoryRoot,
      env: { ...process.env, ROLE: role, REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_MS: String(connectTimeoutMs), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const stop = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // (On 'close', once stderr's last line is read, not on 'exit'.)
    const code = await new Promise((resolve) => child.once('close', (status, signal) => resolve(status ?? signal)));
    clearTimeout(stop);
    expect(code).toBe(1);
    // (One JSON log line, as every line the service writes.)
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 60, msg: 'could not start: cannot reach Redis at REDIS_URL: Redis did not answer within 10.5 s' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(connectTimeoutMs);
  }, 70_000);
});
