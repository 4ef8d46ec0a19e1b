// A real redis-server (Debian's package, installed by .ci/run) per test file: its own free
// port and its own directory, append-only persistence on as in every deployment we document.
// Never a mock. It can be stopped, killed and restarted on the same port and files.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { temporaryDirectory } from './app.js';

export interface RedisServer {
  url: string;
  port: number;
  directory: string;
  // Starts it again (after stop or kill) on the same port and files.
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  // Stops it for good and removes its files.
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export async function startRedis(): Promise<RedisServer> {
  const directory = await temporaryDirectory();
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', directory.path,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'yes',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
    const deadline = Date.now() + 10_000;
    while (!output.includes('Ready to accept connections')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const end = async (signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    directory: directory.path,
    start,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    remove: async () => {
      await end('SIGKILL');
      await directory.remove();
    },
  };
}
