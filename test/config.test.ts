import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { repositoryRoot } from './robustness/server-process.js';

// What a bad API_TOKEN makes `loadConfig` say: one line, never the token itself.
function refusal(token: string): string {
  try {
    loadConfig({ API_TOKEN: token });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`API_TOKEN ${JSON.stringify(token)} was accepted`);
}

describe('API_TOKEN', () => {
  it.each([
    'Az09-._~+/bcdefgh',
    'abcdefghijklmnop==',
    'f3a1c0de9b8e7d6c5b4a39281706f5e4', // openssl rand -hex 16
    'q83vEjRWeJq8EjRWeJq83w==', // openssl rand -base64 16
  ])('accepts %s, which a bearer token can carry', (token) => {
    expect(loadConfig({ API_TOKEN: token }).API_TOKEN).toBe(token);
  });

  it.each([
    ['with spaces', 'correct horse battery staple'],
    ['non-ASCII', 'pässwört-pässwört-2024'],
    ['= inside', 'abcdefgh=ijklmnopq'],
    ['a tab', 'abcdefgh\tijklmnopq'],
    ['a quote', 'abcdefgh"ijklmnopq'],
    ['a comma', 'abcdefgh,ijklmnopq'],
  ])('refuses one %s in a single line that names the allowed characters', (_, token) => {
    const message = refusal(token);
    expect(message).not.toContain('\n');
    expect(message).toContain('API_TOKEN');
    expect(message).toContain('A-Z a-z 0-9 - . _ ~ + /');
    expect(message).not.toContain(token);
  });

  it('refuses one shorter than 16 characters', () => {
    expect(refusal('abc')).toBe('invalid configuration: API_TOKEN: must be at least 16 characters');
  });

  it('is named with every other bad variable on the same line', () => {
    expect(() => loadConfig({ API_TOKEN: 'abc', PORT: '99999' })).toThrow(
      'invalid configuration: PORT: Too big: expected number to be <=65535; API_TOKEN: must be at least 16 characters',
    );
  });

  it('stops the server with exit status 2 and that line on stderr, as a JSON log line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: repositoryRoot,
      env: { ...process.env, API_TOKEN: 'correct horse battery staple', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // A server that starts anyway is stopped, so a failing run leaves nothing behind.
    const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
    // (On 'close', once stderr's last line is read, not on 'exit'.)
    const code = await new Promise((resolve) => child.once('close', (status, signal) => resolve(status ?? signal)));
    clearTimeout(stop);
    expect(code).toBe(2);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 60, msg: expect.stringMatching(/^invalid configuration: API_TOKEN: may only hold A-Z a-z 0-9/) });
  });
});

// A variable set but blank (`RETENTION_DAYS=` or spaces) was read as 0 by z.coerce.number:
// RETENTION_DAYS=" " started the service with no age limit, PORT="" on a random port.
describe('blank variables', () => {
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it.each([
    ['RETENTION_DAYS', ' '],
    ['RETENTION_DAYS', ''],
    ['PORT', ''],
    ['MAX_MODELS', '\t'],
    ['MAX_QUEUED_JOBS', '  '],
    ['BODY_LIMIT_BYTES', '\n'],
    ['HOST', ' '],
    ['DATA_DIR', '   '],
    ['FASHION_MNIST_DIR', ''],
  ])('refuses %s=%j, saying it is blank', (name, value) => {
    expect(problem({ [name]: value })).toBe(`invalid configuration: ${name}: is blank: unset it to take the default, or give a value`);
  });

  it('takes the defaults when unset, and 0 days when that is what is written', () => {
    const config = loadConfig({});
    expect(config.RETENTION_DAYS).toBe(30);
    expect(config.PORT).toBe(3000);
    expect(loadConfig({ RETENTION_DAYS: '0', MAX_QUEUED_JOBS: ' 0 ' })).toMatchObject({ RETENTION_DAYS: 0, MAX_QUEUED_JOBS: 0 });
    expect(problem({ RETENTION_DAYS: 'thirty' })).toBe('invalid configuration: RETENTION_DAYS: Invalid input: expected number, received NaN');
  });
});
