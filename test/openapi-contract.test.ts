// The checker that openapi-tour.test.ts runs every answer through can fail: it refuses answers
// the document does not allow, and names the operation a request reaches.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadContract, type Answer, type Contract } from './helpers/openapi-contract.js';

const answer = (statusCode: number, contentType: string | undefined, body: string | Buffer): Answer => ({
  statusCode,
  headers: contentType === undefined ? {} : { 'content-type': contentType },
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
});
const JSON_TYPE = 'application/json; charset=utf-8';

describe('the OpenAPI contract', () => {
  let contract: Contract;
  beforeAll(async () => {
    contract = await loadContract();
  });
  const problems = (key: string, reply: Answer) => {
    const operation = contract.operations.find((candidate) => candidate.key === key);
    expect(operation, key).toBeDefined();
    return contract.problems(operation!, reply);
  };

  it('accepts an answer the document allows', () => {
    expect(problems('GET /healthz', answer(200, JSON_TYPE, '{"status":"ok"}'))).toEqual([]);
    expect(problems('DELETE /jobs/{id}', answer(204, undefined, ''))).toEqual([]);
    expect(problems('GET /models/{id}/tfjs/weights.bin', answer(200, 'application/octet-stream', Buffer.alloc(31_400)))).toEqual([]);
  });

  it.each([
    ['a status it does not document', 'GET /healthz', answer(418, JSON_TYPE, '{"status":"ok"}'), /status 418 is not documented/],
    ['another content type', 'GET /healthz', answer(200, 'text/html', '{"status":"ok"}'), /content type "text\/html"/],
    ['a body that is not JSON', 'GET /healthz', answer(200, JSON_TYPE, 'ok'), /not JSON/],
    ['a required property missing', 'GET /healthz', answer(200, JSON_TYPE, '{}'), /must have required property 'status'/],
    ['a property it does not name', 'GET /healthz', answer(200, JSON_TYPE, '{"status":"ok","uptime":1}'), /additional properties/],
    ['a value outside its enum', 'GET /jobs/{id}', answer(404, JSON_TYPE, '{"error":{"code":"NOPE","message":"x"}}'), /allowed values/],
    ['a body where it documents none', 'DELETE /jobs/{id}', answer(204, JSON_TYPE, 'null'), /gives no body/],
    ['an empty file', 'GET /models/{id}/tfjs/weights.bin', answer(200, 'application/octet-stream', ''), /empty/],
  ])('refuses %s', (_what, key, reply, expected) => {
    const found = problems(key, reply);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(expected);
  });

  it('checks a request body the service took against the document\'s', () => {
    const createJob = contract.operations.find((operation) => operation.key === 'POST /jobs')!;
    expect(contract.requestProblems(createJob, { epochs: 1, lr: 0.1 })).toEqual([]);
    expect(contract.requestProblems(createJob, { epochs: 'one' }).join('\n')).toMatch(/epochs must be integer/);
    expect(contract.requestProblems(createJob, { epochs: 1, learningRate: 0.1 }).join('\n')).toMatch(/additional properties/);
    const health = contract.operations.find((operation) => operation.key === 'GET /healthz')!;
    expect(contract.requestProblems(health, {})).toEqual(['GET /healthz: the document takes no JSON body']);
  });

  it('names the operation a request reaches, a literal path before a template', () => {
    expect(contract.operationOf('GET', '/jobs/job_1?include=metrics')?.key).toBe('GET /jobs/{id}');
    expect(contract.operationOf('GET', '/datasets/fashion-mnist/test?limit=2')?.key).toBe('GET /datasets/fashion-mnist/test');
    expect(contract.operationOf('GET', '/datasets/fashion-mnist/test/3')?.key).toBe('GET /datasets/fashion-mnist/test/{index}');
    expect(contract.operationOf('PUT', '/jobs/job_1')).toBeUndefined();
    expect(contract.operationOf('GET', '/jobs/job_1/unknown')).toBeUndefined();
  });

  // The document's SweepEvent once required a member's message to be both only {jobId} and only a
  // JobEvent (an allOf of two closed objects), which no message is.
  it("takes a sweep member's job events as SweepEvent messages", () => {
    const progress = { jobId: 'job_1', type: 'progress', epoch: 1, batchesDone: 3, batchesTotal: 235 };
    expect(contract.schemaProblems('#/components/schemas/SweepEvent', progress)).toEqual([]);
    expect(contract.schemaProblems('#/components/schemas/SweepEvent', { ...progress, jobId: undefined })).not.toEqual([]);
  });
});
