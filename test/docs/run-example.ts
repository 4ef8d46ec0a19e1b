// Runs one example of the docs as a reader would: a ```sh block in bash (a failing command stops it;
// no pipefail, so `curl | head` is fine), a ```js block in Node with the `ws` and `eventsource`
// packages as the browser's WebSocket and EventSource. Not a test file.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DocExample } from './doc-examples.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BROWSER_GLOBALS = "import WebSocket from 'ws';\nimport { EventSource } from 'eventsource';\n" +
  'globalThis.WebSocket = WebSocket;\nglobalThis.EventSource = EventSource;\n';

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.API_TOKEN;
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    // Only a hang gets here.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function runExample(example: DocExample, code: string, cwd: string, timeoutMs = 60_000): Promise<Ran> {
  if (example.language === 'sh') return run('bash', ['-c', `set -e\n${code}`], cwd, timeoutMs);
  await writeFile(path.join(cwd, 'example.mjs'), BROWSER_GLOBALS + code);
  return run(process.execPath, ['example.mjs'], cwd, timeoutMs);
}

// JOB_ID, MODEL_ID, SWEEP_ID and KEY_ID: the first id of that kind in the latest output that showed one.
export const PLACEHOLDERS = { JOB_ID: 'job', MODEL_ID: 'model', SWEEP_ID: 'sweep', KEY_ID: 'key' } as const;
export type Placeholder = keyof typeof PLACEHOLDERS;

export function substitutePlaceholders(code: string, values: Partial<Record<Placeholder, string>>): string {
  return code.replace(/\b(JOB_ID|MODEL_ID|SWEEP_ID|KEY_ID)\b/g, (name) => {
    const value = values[name as Placeholder];
    if (!value) throw new Error(`${name} is used before any output showed a ${PLACEHOLDERS[name as Placeholder]} id`);
    return value;
  });
}

export function capturePlaceholders(output: string, values: Partial<Record<Placeholder, string>>): void {
  for (const [name, prefix] of Object.entries(PLACEHOLDERS) as Array<[Placeholder, string]>) {
    const id = new RegExp(`\\b${prefix}_[0-9a-z]{19}\\b`).exec(output);
    if (id) values[name] = id[0];
  }
}
