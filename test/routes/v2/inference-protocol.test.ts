// The Open Inference Protocol on /v2, through the real server on a real port, as a client written
// for Triton or KServe calls it. Every answer is checked against the protocol's own schemas.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE } from '../../../src/engine/softmax-regression.js';
import { sharedDataset, testApp, waitForJob } from '../../helpers/app.js';
import { expectProtocol, expectProtocolError } from './protocol.js';

const MAX_IMAGES = 50;
// A fetch answer's JSON (typed loosely: the tests check it).
const read = async (response: Response): Promise<any> => response.json();
const rows = (image: number[]) => Array.from({ length: 28 }, (_, r) => image.slice(r * 28, (r + 1) * 28));

describe('/v2, the Open Inference Protocol', () => {
  let app: FastifyInstance;
  let base: string;
  let images: number[][];
  let older: string;
  let newer: string;

  const get = (path: string) => fetch(`${base}${path}`);
  const post = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}${path}`, { method: 'POST', headers, body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) });
  const infer = (body: unknown, name = 'fashion-mnist') => post(`/v2/models/${name}/infer`, body);
  const imagesInput = (data: unknown, shape = [1, 784], datatype = 'UINT8') => ({ name: 'images', shape, datatype, data });
  const predict = async (model: string, someImages: number[][], topK?: number) =>
    (await read(await post('/predict', { model, images: someImages, topK }))).predictions as Array<{ label: number; probabilities: number[]; top?: Array<{ label: number; className: string; probability: number }> }>;

  beforeAll(async () => {
    app = await testApp({ MAX_IMAGES_PER_REQUEST: MAX_IMAGES, BODY_LIMIT_BYTES: 256 * 1024 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    const { test } = await sharedDataset();
    images = Array.from({ length: MAX_IMAGES }, (_, i) => Array.from(test.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE)));
  });
  afterAll(() => app.close());

  it('before any model: live and ready, but fashion-mnist has no version yet (4xx)', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe('');
    }
    await expectProtocolError(await get('/v2/models/fashion-mnist/ready'), 409, /^model fashion-mnist has no version yet/);
    await expectProtocolError(await get('/v2/models/fashion-mnist'), 409, /^model fashion-mnist has no version yet/);
    await expectProtocolError(await infer({ inputs: [imagesInput(images[0])] }), 409, /^model fashion-mnist has no version yet/);
    for (const seed of [1, 2]) {
      const job = (await app.inject({ method: 'POST', url: '/jobs', payload: { epochs: 1, seed } })).json();
      const modelId = (await waitForJob(app, job.id)).modelId as string;
      if (seed === 1) older = modelId;
      else newer = modelId;
    }
  });

  it('server metadata names the server, its version and the classification extension', async () => {
    const response = await get('/v2');
    expect(response.status).toBe(200);
    const body = await read(response);
    expectProtocol('serverMetadata', body);
    expect(body).toEqual({ name: 'softmax-serve', version: '0.1.0', extensions: ['classification'] });
  });

  it('model metadata: fashion-mnist has every model as a version, newest first; a model id has itself', async () => {
    const alias = await read(await get('/v2/models/fashion-mnist'));
    expectProtocol('modelMetadata', alias);
    expect(alias).toEqual({
      name: 'fashion-mnist',
      versions: [newer, older],
      platform: 'softmax-serve_softmax-regression',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [-1, 784] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }, { name: 'label', datatype: 'INT64', shape: [-1] }],
    });
    const byId = await read(await get(`/v2/models/${older}`));
    expectProtocol('modelMetadata', byId);
    expect(byId).toMatchObject({ name: older, versions: [older] });
    for (const path of [`/v2/models/fashion-mnist/versions/${older}`, `/v2/models/${older}/versions/${older}`]) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expectProtocol('modelMetadata', await read(response));
    }
    for (const path of ['/v2/models/fashion-mnist/ready', `/v2/models/${older}/ready`, `/v2/models/fashion-mnist/versions/${older}/ready`]) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe('');
    }
  });

  it('answers what /predict answers, to the bit (probabilities rounded to float32), for every shape, datatype and layout', async () => {
    const some = images.slice(0, 20);
    const expected = await predict(newer, some);
    const requests = [
      imagesInput(some.flat(), [20, 784], 'UINT8'),
      imagesInput(some, [20, 784], 'FP32'),
      imagesInput(some.map(rows), [20, 28, 28], 'UINT8'),
      imagesInput(some.flat(), [20, 28, 28], 'FP32'),
      imagesInput(some.map((image) => [rows(image)]), [20, 1, 28, 28], 'FP32'),
      imagesInput(some.flat(), [20, 1, 28, 28], 'UINT8'),
    ];
    for (const input of requests) {
      const response = await infer({ id: 'request-7', inputs: [input] });
      const body = await read(response);
      expect(response.status, JSON.stringify(body)).toBe(200);
      expectProtocol('inferenceResponse', body);
      expect(body.model_name).toBe('fashion-mnist');
      expect(body.model_version).toBe(newer);
      expect(body.id).toBe('request-7');
      expect(body.outputs.map((o: { name: string; datatype: string; shape: number[] }) => [o.name, o.datatype, o.shape]))
        .toEqual([['probabilities', 'FP32', [20, 10]], ['label', 'INT64', [20]]]);
      expect(body.outputs[0].data).toEqual(expected.flatMap((p) => p.probabilities.map(Math.fround)));
      expect(body.outputs[1].data).toEqual(expected.map((p) => p.label));
    }
  });

  it('selects outputs, and gives the k most likely classes as "score:index:label" with classification', async () => {
    const some = images.slice(0, 3);
    const expected = await predict(older, some, 4);
    const response = await infer({
      inputs: [imagesInput(some.flat(), [3, 784])],
      outputs: [{ name: 'label' }, { name: 'probabilities', parameters: { classification: 4, binary_data: true } }],
    }, older);
    const body = await read(response);
    expectProtocol('inferenceResponse', body);
    expect(body).not.toHaveProperty('id');
    expect(body.model_name).toBe(older);
    expect(body.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [3], data: expected.map((p) => p.label) },
      {
        name: 'probabilities',
        datatype: 'BYTES',
        shape: [3, 4],
        data: expected.flatMap((p) => p.top!.map((top) => `${Math.fround(top.probability)}:${top.label}:${top.className}`)),
      },
    ]);
    expect(body.outputs[1].data[0]).toMatch(/^0\.\d+:\d:[A-Za-z]/);
  });

  it('abstains below the request\'s minConfidence as /predict does: label -1, probabilities kept', async () => {
    const some = images.slice(0, 20);
    const answered = (await read(await post('/predict', { model: older, images: some, minConfidence: 0.9 }))).predictions as Array<{ label: number | null; abstained: boolean; probabilities: number[] }>;
    const abstained = answered.filter((p) => p.abstained);
    // Both kinds among the 20, so that the label tensor is checked for each.
    expect(abstained.length).toBeGreaterThan(0);
    expect(abstained.length).toBeLessThan(20);
    const body = await read(await infer({ parameters: { minConfidence: 0.9 }, inputs: [imagesInput(some.flat(), [20, 784])] }, older));
    expectProtocol('inferenceResponse', body);
    expect(body.outputs[0].data).toEqual(answered.flatMap((p) => p.probabilities.map(Math.fround)));
    expect(body.outputs[1].data).toEqual(answered.map((p) => p.label ?? -1));
    const one = await read(await infer({ parameters: { minConfidence: 1 }, inputs: [imagesInput(images[0])] }, older));
    expect(one.outputs[1].data).toEqual([-1]);
  });

  it('answers with the version asked for', async () => {
    const expected = await predict(older, [images[0]]);
    for (const path of [`/v2/models/fashion-mnist/versions/${older}/infer`, `/v2/models/${older}/versions/${older}/infer`]) {
      const body = await read(await post(path, { inputs: [imagesInput(images[0])], outputs: [{ name: 'probabilities' }] }));
      expectProtocol('inferenceResponse', body);
      expect(body.model_version, path).toBe(older);
      expect(body.outputs[0].data, path).toEqual(expected[0].probabilities.map(Math.fround));
    }
  });

  it.each([
    ['datatype FP64', { inputs: [imagesInput([0], [1, 784], 'FP64')] }, "input 'images' has datatype FP64; this model takes UINT8 or FP32 grey levels 0..255"],
    ['a shape of 785 pixels', { inputs: [imagesInput([0], [1, 785])] }, "input 'images' has shape [1,785]; this model takes [N,784], [N,28,28] or [N,1,28,28]"],
    ['a shape of rank 1', { inputs: [imagesInput([0], [784])] }, "input 'images' has shape [784]; this model takes [N,784], [N,28,28] or [N,1,28,28]"],
    ['more images than allowed', { inputs: [imagesInput([0], [51, 784])] }, "input 'images' has shape [51,784]: 51 images; a request holds 1 to 50"],
    ['no images', { inputs: [imagesInput([], [0, 784])] }, "input 'images' has shape [0,784]: 0 images; a request holds 1 to 50"],
    ['data of the wrong size', { inputs: [imagesInput(new Array(783).fill(0))] }, "input 'images' has 783 elements at the top level of its data; shape [1,784] needs 784 (flat) or 1 (nested)"],
    ['a nested row too short', { inputs: [imagesInput([[...rows(new Array(784).fill(0)).slice(0, 27), new Array(27).fill(0)]], [1, 28, 28])] },
      "input 'images': data[0][27] is 27 elements; shape [1,28,28] needs 28 elements there"],
    ['a number where a row belongs', { inputs: [imagesInput([[...rows(new Array(784).fill(0)).slice(0, 27), 5]], [1, 28, 28])] },
      "input 'images': data[0][27] is 5; shape [1,28,28] needs 28 elements there"],
    ['a grey level above 255', { inputs: [imagesInput([...new Array(500).fill(0), 256, ...new Array(283).fill(0)])] },
      "input 'images': element 500 (image 0, pixel 500) is 256; UINT8 grey levels are integers 0..255"],
    ['a fraction in UINT8', { inputs: [imagesInput([0.5, ...new Array(783).fill(0)])] },
      "input 'images': element 0 (image 0, pixel 0) is 0.5; UINT8 grey levels are integers 0..255"],
    ['a negative FP32', { inputs: [imagesInput([[...new Array(783).fill(0), -1]], [1, 784], 'FP32')] },
      "input 'images': element 783 (image 0, pixel 783) is -1; grey levels are numbers 0..255"],
    ['a string element', { inputs: [imagesInput(['12', ...new Array(783).fill(0)])] },
      "input 'images': element 0 (image 0, pixel 0) is the string \"12\"; UINT8 grey levels are integers 0..255"],
    ['binary tensor data', { inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', parameters: { binary_data_size: 784 } }] },
      "input 'images' has no JSON data: binary tensor data is not supported here; send its elements in \"data\""],
    ['another input name', { inputs: [{ ...imagesInput(new Array(784).fill(0)), name: 'input0' }] }, "this model takes one input, images; the request has 'input0'"],
    ['two inputs', { inputs: [imagesInput(new Array(784).fill(0)), imagesInput(new Array(784).fill(0))] }, "this model takes one input, images; the request has 'images', 'images'"],
    ['an unknown output', { inputs: [imagesInput(new Array(784).fill(0))], outputs: [{ name: 'logits' }] }, "output 'logits' does not exist; this model's outputs are probabilities and label"],
    ['an output twice', { inputs: [imagesInput(new Array(784).fill(0))], outputs: [{ name: 'label' }, { name: 'label' }] }, "output 'label' is requested twice"],
    ['classification on label', { inputs: [imagesInput(new Array(784).fill(0))], outputs: [{ name: 'label', parameters: { classification: 2 } }] },
      "output 'label': classification applies to probabilities only"],
    ['classification of 11', { inputs: [imagesInput(new Array(784).fill(0))], outputs: [{ name: 'probabilities', parameters: { classification: 11 } }] },
      "output 'probabilities': classification is 11; it is a count of classes, 1 to 10"],
    ['minConfidence 0', { parameters: { minConfidence: 0 }, inputs: [imagesInput(new Array(784).fill(0))] }, 'parameters.minConfidence is 0; it is a probability in (0, 1]'],
    ['minConfidence 1.5', { parameters: { minConfidence: 1.5 }, inputs: [imagesInput(new Array(784).fill(0))] }, 'parameters.minConfidence is 1.5; it is a probability in (0, 1]'],
    ['minConfidence as a string', { parameters: { minConfidence: '0.5' }, inputs: [imagesInput(new Array(784).fill(0))] }, 'parameters.minConfidence is "0.5"; it is a probability in (0, 1]'],
    ['no inputs', { inputs: [] }, /^invalid request: body\.inputs: Too small/],
    ['inputs that are not a list', { inputs: 'images' }, /^invalid request: body\.inputs: Invalid input: expected array/],
    ['a shape of strings', { inputs: [imagesInput([0], ['1', '784'] as unknown as number[])] }, /^invalid request: body\.inputs\.0\.shape\.0/],
  ])('refuses %s with 400 naming what is wrong', async (_name, body, message) => {
    await expectProtocolError(await infer(body), 400, message);
  });

  it('refuses bad JSON, other content types and oversized bodies with 4xx in the protocol\'s shape', async () => {
    await expectProtocolError(await post('/v2/models/fashion-mnist/infer', '{"inputs": ['), 400, /^request body is not valid JSON/);
    await expectProtocolError(await post('/v2/models/fashion-mnist/infer', 'images', { 'content-type': 'text/plain' }), 415, /^content type "text\/plain" is not accepted here/);
    const huge = JSON.stringify({ inputs: [imagesInput(new Array(784 * 100).fill(255), [100, 784])] });
    expect(huge.length).toBeGreaterThan(256 * 1024);
    await expectProtocolError(await post('/v2/models/fashion-mnist/infer', huge), 413, 'request body is larger than the limit of 262144 bytes');
  });

  it('refuses unknown models, versions and routes with 404 in the protocol\'s shape', async () => {
    const body = { inputs: [imagesInput(images[0])] };
    await expectProtocolError(await infer(body, 'model_nope'), 404, /^no model model_nope; fashion-mnist is the newest model/);
    await expectProtocolError(await post('/v2/models/fashion-mnist/versions/model_nope/infer', body), 404,
      'model fashion-mnist has no version model_nope; GET /v2/models/fashion-mnist lists its versions');
    await expectProtocolError(await post(`/v2/models/${older}/versions/1/infer`, body), 404, `model ${older} has one version, ${older}, not 1`);
    await expectProtocolError(await get('/v2/models/model_nope'), 404, /^no model model_nope/);
    await expectProtocolError(await get('/v2/models/model_nope/ready'), 404, /^no model model_nope/);
    await expectProtocolError(await get('/v2/repository/index'), 404, /^no route GET \/v2\/repository\/index; the Open Inference Protocol's are/);
  });
});

describe('/v2 with API_TOKEN set', () => {
  const token = 'v2-test-token-0123456789';
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = await testApp({ API_TOKEN: token });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('needs the bearer token, and refuses without it with 401 in the protocol\'s shape', async () => {
    const refused = await fetch(`${base}/v2/models/fashion-mnist`);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    await expectProtocolError(refused, 401, /needs a token/);
    const metadata = await fetch(`${base}/v2`, { headers: { authorization: `Bearer ${token}` } });
    expect(metadata.status).toBe(200);
    expectProtocol('serverMetadata', await read(metadata));
  });
});
