// Every line the service writes is a JSON log line (file mode), whatever happens: hostile and
// malformed requests, a process warning (Node prints those as plain text), an error nothing
// caught, a start refused for its configuration or its dataset. Read from the real process's
// stdout and stderr.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../helpers/app.js';
import { freePort, repositoryRoot } from '../robustness/server-process.js';

const fixture = new URL('../fixtures/process-events.ts', import.meta.url).pathname;

interface Run {
  lines: Array<{ stream: 'stdout' | 'stderr'; text: string }>;
  exited: Promise<number | string | null>;
  saw: (test: (entry: Record<string, any>) => boolean) => Promise<Record<string, any>>;
  kill: (signal?: NodeJS.Signals) => void;
}

// Resolves once GET /healthz answers 200.
async function answering(base: string): Promise<void> {
  for (;;) {
    const status = await fetch(`${base}/healthz`).then((response) => response.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const children: Run[] = [];

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', fixture, 'src/server.ts'], {
    cwd: repositoryRoot,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'debug', POOL_SIZE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Run['lines'] = [];
  const waiting: Array<{ test: (entry: Record<string, any>) => boolean; resolve: (entry: Record<string, any>) => void }> = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    let rest = '';
    child[stream].setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const text of parts) {
        lines.push({ stream, text });
        let entry: Record<string, any>;
        try {
          entry = JSON.parse(text);
        } catch {
          continue;
        }
        for (const waiter of waiting.filter(({ test }) => test(entry))) waiter.resolve(entry);
      }
    });
  }
  // 'close', not 'exit': the pipes may still hold the last lines when the process has exited.
  const exited = new Promise<number | string | null>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal)));
  const started: Run = {
    lines,
    exited,
    // (Lines already written count too.)
    saw: (test) => new Promise((resolve) => {
      const entries = lines.flatMap(({ text }) => {
        try {
          return [JSON.parse(text) as Record<string, any>];
        } catch {
          return [];
        }
      });
      const found = entries.find((entry) => typeof entry === 'object' && entry !== null && test(entry));
      if (found) resolve(found);
      else waiting.push({ test, resolve });
    }),
    kill: (signal = 'SIGKILL') => void child.kill(signal),
  };
  children.push(started);
  return started;
}

const notJson = (lines: Run['lines']) => lines.filter(({ text }) => {
  try {
    return typeof JSON.parse(text) !== 'object';
  } catch {
    return true;
  }
});

// Bytes that are not HTTP, on a socket of their own.
function rawBytes(port: number, bytes: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.resume();
  });
}

describe('log lines', () => {
  afterAll(() => {
    for (const child of children) child.kill();
  });

  it('are all JSON while the service meets hostile requests and a process warning, and stops', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = run({ PORT: String(port), DATA_DIR: (await temporaryDirectory()).path, SOFTMAX_SERVE_TEST_PROCESS_EVENT: 'warning' });
    await answering(base);
    server.kill('SIGUSR2');
    const post = (url: string, body: string, type = 'application/json') => fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': type }, body });
    const answers = await Promise.all([
      post('/predict', '{"images": [['),
      post('/predict', `{"images":[${'['.repeat(5000)}${']'.repeat(5000)}]}`),
      post('/predict', JSON.stringify({ images: [' '.repeat(40_000) + '!'] })),
      post('/jobs', '{"epochs": "ten"}'),
      post('/jobs', 'epochs=1', 'application/x-www-form-urlencoded'),
      post('/lab/softmax', '{"logits": [[1e39, 0]]}'),
      post('/models', Buffer.from('PK\x03\x04 not a zip').toString(), 'application/zip'),
      fetch(`${base}/v2/models/fashion-mnist/infer`, { method: 'POST', body: '{}' }),
      fetch(`${base}/${'x/'.repeat(2000)}`),
      fetch(`${base}/jobs/%E0%A4%A`),
      fetch(`${base}/jobs/${'j'.repeat(600)}`),
    ]);
    for (const answer of answers) expect(answer.status).toBeGreaterThanOrEqual(400);
    for (const answer of answers) expect(answer.status).toBeLessThan(500);
    await rawBytes(port, 'NOT HTTP AT ALL\r\n\r\n');
    await rawBytes(port, `GET / HTTP/1.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(await server.saw((entry) => entry.msg === 'process warning')).toMatchObject({ level: 40, err: { message: 'a warning from a dependency' } });
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.lines.length).toBeGreaterThan(20);
    expect(notJson(server.lines)).toEqual([]);
    // Bounded too: a client error (a 20 KB header) is logged without the bytes that caused it.
    const longest = server.lines.reduce((a, b) => (b.text.length > a.text.length ? b : a));
    expect(longest.text.length, longest.text.slice(0, 3000)).toBeLessThan(4096);
  }, 60_000);

  it('end with a fatal JSON line when an error nothing caught stops the process', async () => {
    const port = await freePort();
    const server = run({ PORT: String(port), DATA_DIR: (await temporaryDirectory()).path, SOFTMAX_SERVE_TEST_PROCESS_EVENT: 'throw' });
    await answering(`http://127.0.0.1:${port}`);
    // The answer reaches the client before the server logs it (onResponse): wait for that line, so
    // that it cannot follow the fatal one (the loaded suite saw it 'request completed' after it).
    await server.saw((entry) => entry.msg === 'request completed');
    server.kill('SIGUSR2');
    expect(await server.exited).toBe(1);
    expect(notJson(server.lines)).toEqual([]);
    // The last line of its stream: stdout's and stderr's lines arrive on two pipes, whose order
    // between them is not kept (the suite saw a request's line from the other pipe after it).
    const fatal = server.lines.filter((line) => JSON.parse(line.text).level === 60);
    expect(fatal).toHaveLength(1);
    expect(server.lines.filter((line) => line.stream === fatal[0].stream).at(-1)).toBe(fatal[0]);
    expect(JSON.parse(fatal[0].text)).toMatchObject({ level: 60, msg: 'uncaught exception; stopping', err: { message: 'an error nothing caught' } });
  }, 60_000);

  it.each([
    ['a blank variable', { RETENTION_DAYS: ' ' }, 2, /^invalid configuration: RETENTION_DAYS: is blank/],
    ['no dataset', { FASHION_MNIST_DIR: '/nonexistent/fashion-mnist' }, 1, /^could not start: FASHION_MNIST_DIR=\/nonexistent\/fashion-mnist does not hold the four Fashion-MNIST files/],
  ])('are one fatal JSON line on stderr when the start is refused for %s', async (_name, env, status, why) => {
    const server = run({ PORT: '0', ...env });
    expect(await server.exited).toBe(status);
    expect(notJson(server.lines)).toEqual([]);
    expect(server.lines.map(({ stream }) => stream)).toEqual(['stderr']);
    const entry = JSON.parse(server.lines[0].text);
    expect(entry.level).toBe(60);
    expect(entry.msg).toMatch(why);
  }, 60_000);
});
