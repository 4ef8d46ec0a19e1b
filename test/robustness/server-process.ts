// The real service as a child process (`node --import tsx src/server.ts`), for the robustness
// tests that kill it, signal it and restart it. Not a test file: shared by them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  port: number;
  // Every line the process wrote (pino JSON on stdout, anything on stderr), for diagnostics.
  lines: string[];
  // Resolves once the process has exited.
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ServerProcess>();

// A port nobody listens on right now: PORT=0 would work, but then the test could not know it.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts the server on a free port with the given environment and waits for GET /healthz.
export async function startServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) };
  delete childEnv.API_TOKEN;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repositoryRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      lines.push(...parts);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const server: ServerProcess = { child, base: `http://127.0.0.1:${port}`, port, lines, exited };
  started.add(server);
  void exited.then(() => started.delete(server));

  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`the server exited while starting:\n${lines.slice(-20).join('\n')}`);
    try {
      const response = await fetch(`${server.base}/healthz`);
      if (response.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`);
    await sleep(100);
  }
}

// SIGKILLs every server this file started that is still running (for afterAll).
export async function killAllStarted(): Promise<void> {
  const running = [...started];
  for (const server of running) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }
  await Promise.all(running.map((server) => server.exited));
}

export interface Answer {
  status: number;
  body: any;
}

// One JSON request; the body is parsed when the answer is JSON.
export async function api(base: string, method: string, url: string, payload?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

// Polls GET /jobs/:id until `done(job)` holds.
export async function pollJob(
  base: string,
  id: string,
  done: (job: any) => boolean,
  timeoutMs = 120_000,
  intervalMs = 50,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await api(base, 'GET', `/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} never reached the awaited state; last seen ${JSON.stringify(body).slice(0, 300)}`);
    await sleep(intervalMs);
  }
}

export const isFinished = (job: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(job.status);

export const withoutSeconds = (metrics: Array<Record<string, number>>) => metrics.map(({ seconds: _, ...rest }) => rest);

