// docs/tenants.md's class example, run as it is written (bash, curl, jq) against a listening
// service, smaller: two students, one-epoch jobs. Each student predicts with the teacher's public
// model before training and with their own after, and lists only those two.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory, testApp } from '../helpers/app.js';
import { BOOTSTRAP } from './tenant-helpers.js';

const run = promisify(execFile);

async function classExample(): Promise<string> {
  const doc = await readFile(new URL('../../docs/tenants.md', import.meta.url), 'utf8');
  const block = /<!-- class-example -->\n```bash\n([\s\S]*?)\n```/.exec(doc);
  expect(block).not.toBeNull();
  return block![1];
}

describe("docs/tenants.md's class of thirty", () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: BOOTSTRAP, POOL_SIZE: 1 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app?.close());

  it('runs: keys made in a loop, the teacher\'s public model, each student training and predicting in their own tenant', async () => {
    const cwd = await temporaryDirectory();
    try {
      const { stdout } = await run('bash', ['-c', await classExample()], {
        cwd: cwd.path,
        env: { ...process.env, SERVICE: base, API_TOKEN: BOOTSTRAP, STUDENTS: '2', EPOCHS: '1' },
      });
      const lines = stdout.trim().split('\n');
      const teacher = /^teacher=(model_[a-z0-9]+)$/.exec(lines.at(-1)!)![1];
      expect(lines.at(-2)).toBe('JOB_NOT_FOUND');
      const students = lines.slice(0, -2).map((line) => /^student-(\d) before=(\S+) after=(\S+) models=(\S+)$/.exec(line)!);
      expect(students.map((match) => match[1])).toEqual(['1', '2']);
      const own = new Set<string>();
      for (const [, , before, after, models] of students) {
        expect(before).toBe(teacher);
        expect(after).toMatch(/^model_/);
        expect(after).not.toBe(teacher);
        expect(models).toBe(`${after},${teacher}`);
        own.add(after);
      }
      expect(own.size).toBe(2);
      // Each student's key is theirs: the file holds it, the service lists it (without it).
      const keys = await Promise.all(['1', '2'].map((n) => readFile(`${cwd.path}/keys/student-${n}`, 'utf8')));
      for (const key of keys) expect(key.trim()).toMatch(/^smx_key_/);
    } finally {
      await cwd.remove();
    }
  }, 120_000);
});
