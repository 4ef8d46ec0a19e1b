// docs/api.md has a working example of every route: every operation of openapi.yaml (the contract,
// generated from the schemas) is requested by one of the page's examples, which executed-docs.test.ts
// runs. A route added without an example there fails here, naming it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repositoryRoot } from '../robustness/server-process.js';
import { docExamples } from './doc-examples.js';

const read = (file: string) => readFile(path.join(repositoryRoot, file), 'utf8');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

// "METHOD /path" of each request an example makes: curl (-X, or POST when it sends data), and the
// WebSocket and EventSource clients (GET).
function requestsOf(code: string): string[] {
  const commands = code.replace(/\\\n/g, ' ').split('\n');
  return commands.flatMap((command) => {
    const method = /-X\s+([A-Z]+)/.exec(command)?.[1] ?? (/\s(-d|--data-binary)\s/.test(command) ? 'POST' : 'GET');
    return [...command.matchAll(/(?:https?|wss?):\/\/localhost:3000(\/[^\s'"?`]*)|\blocalhost:3000(\/[^\s'"?`]*)/g)]
      .map((match) => `${/wss?:|new EventSource/.test(command) ? 'GET' : method} ${match[1] ?? match[2]}`);
  });
}

describe('docs/api.md', () => {
  it('requests every operation of openapi.yaml in its examples', async () => {
    const document = parse(await read('openapi.yaml')) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([route, item]) =>
      Object.keys(item).filter((method) => METHODS.includes(method)).map((method) => ({ method: method.toUpperCase(), route })));
    expect(operations.length).toBeGreaterThan(30);
    const requests = docExamples('docs/api.md', await read('docs/api.md')).flatMap((example) => requestsOf(example.code));
    const missing = operations.filter(({ method, route }) => {
      const pattern = new RegExp(`^${method} ${route.replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
      return !requests.some((request) => pattern.test(request));
    });
    expect(missing.map(({ method, route }) => `${method} ${route}`)).toEqual([]);
  });

  it('reads the requests of an example as a reader would send them', () => {
    expect(requestsOf("curl -s -X POST 'localhost:3000/predict?topK=3' -H 'content-type: image/png' --data-binary @boot.png")).toEqual(['POST /predict']);
    expect(requestsOf("curl -s localhost:3000/jobs -H 'content-type: application/json' \\\n  -d '{}'")).toEqual(['POST /jobs']);
    expect(requestsOf("curl -s 'localhost:3000/jobs?limit=1'\ncurl -s -X DELETE localhost:3000/jobs/JOB_ID")).toEqual(['GET /jobs', 'DELETE /jobs/JOB_ID']);
    expect(requestsOf("const socket = new WebSocket('ws://localhost:3000/jobs/JOB_ID/events');")).toEqual(['GET /jobs/JOB_ID/events']);
  });
});
