// The client half of the container smoke test: against a running service at BASE_URL,
//   train  → submit a 1-epoch job, follow it over the WebSocket to success, predict one real
//            test image with its model; prints {"jobId","modelId","testAcc","label","expected"}
//   check MODEL_ID → the model is still listed and predicts
// and exits non-zero, saying why, on anything unexpected.
import WebSocket from 'ws';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';

const [command, base = 'http://127.0.0.1:3000', modelArg] = process.argv.slice(2);

function fail(message: string): never {
  console.error(`smoke-client: ${message}`);
  process.exit(1);
}

async function request(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) fail(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

function follow(jobId: string): Promise<Array<Record<string, any>>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/jobs/${jobId}/events`);
    const messages: Array<Record<string, any>> = [];
    const timer = setTimeout(() => reject(new Error('no end message within 120 s')), 120_000);
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 1000) reject(new Error(`stream closed with ${code}`));
      else resolve(messages);
    });
    socket.on('error', reject);
  });
}

async function predictOne(model: string): Promise<{ label: number; expected: number }> {
  const { test } = await loadFashionMnist();
  const image = Array.from(test.images.subarray(0, IMAGE_SIZE));
  const answer = await request('POST', '/predict', { model, images: [image] });
  if (answer.model !== model || answer.predictions.length !== 1) fail(`unexpected /predict answer ${JSON.stringify(answer).slice(0, 300)}`);
  const probabilities: number[] = answer.predictions[0].probabilities;
  const sum = probabilities.reduce((a, b) => a + b, 0);
  if (probabilities.length !== 10 || Math.abs(sum - 1) > 1e-4) fail(`probabilities ${JSON.stringify(probabilities)} do not sum to 1`);
  return { label: answer.predictions[0].label, expected: test.labels[0] };
}

if (command === 'train') {
  const job = await request('POST', '/jobs', { epochs: 1, seed: 1 });
  const messages = await follow(job.id).catch((error: Error) => fail(error.message));
  const end = messages.at(-1);
  if (end?.type !== 'end' || end.status !== 'succeeded') fail(`job did not succeed: ${JSON.stringify(end).slice(0, 300)}`);
  const epochs = messages.filter((m) => m.type === 'epoch');
  if (epochs.length !== 1) fail(`expected 1 epoch message, got ${epochs.length}`);
  const modelId: string = end.job.modelId;
  const { label, expected } = await predictOne(modelId);
  console.log(JSON.stringify({ jobId: job.id, modelId, testAcc: epochs[0].metrics.testAcc, label, expected }));
} else if (command === 'check' && modelArg) {
  const { models } = await request('GET', '/models');
  if (!models.some((m: { id: string }) => m.id === modelArg)) fail(`model ${modelArg} is gone after the restart`);
  const { label, expected } = await predictOne(modelArg);
  console.log(JSON.stringify({ modelId: modelArg, models: models.length, label, expected }));
} else {
  fail('usage: smoke-client.ts train BASE_URL | check BASE_URL MODEL_ID');
}
