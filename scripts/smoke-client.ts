// The client half of the container smoke test, against a running service at BASE_URL:
//   train                  → a 1-epoch job followed over the WebSocket to success, then its model
//                            classifies a real test image, which must get its true label; prints
//                            {"jobId","modelId","testAcc","label","expected","probabilities"}
//   interrupt-me           → a job far too long to finish here, followed over the WebSocket until
//                            its 2nd epoch; prints {"jobId","epochsDone","metrics"} as read just
//                            before returning (the caller stops the container right after)
//   check MODEL PROBS      → the model is still listed and gives the same true label with the same
//                            probabilities (PROBS: the JSON array `train` printed)
//   resumed JOB METRICS    → the job is back with those epochs' metrics as they were (timings
//                            included: kept, not trained again), goes on to train further, and is
//                            then cancelled; prints {"kept","resumedTo"} (METRICS: as interrupt-me
//                            printed them)
// The client half of the compose smoke test (scripts/compose-smoke.sh), against two API replicas A and B:
//   cluster A B            → a 3-epoch job created on A and followed over the WebSocket on B to success,
//                            trained by a worker that its status messages name; its model gives the
//                            true label of a test image, with the same probabilities, on A and on B;
//                            prints {"jobId","modelId","worker","testAcc","label","probabilities"}
//   cluster-check A B JOB MODEL PROBS
//                          → after Redis restarted from its append-only file: the job is still there,
//                            succeeded, on B; the model still listed on A, same probabilities on B; and
//                            a new job posted on B trains to success (seen on A), its model listed on A
//                            within a second; prints {"jobs","models"}
// With API_TOKEN set in the environment, every request carries it.
// Each command exits non-zero, saying why, on anything unexpected.
import WebSocket from 'ws';
import { parseCommandLine } from '../src/cli/command-line.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { IMAGE_SIZE } from '../src/engine/softmax-regression.js';

// Each command and the arguments it takes after BASE.
const commands: Record<string, string[]> = {
  train: [],
  'interrupt-me': [],
  check: ['MODEL', 'PROBS'],
  resumed: ['JOB', 'METRICS'],
  cluster: ['B'],
  'cluster-check': ['B', 'JOB', 'MODEL', 'PROBS'],
};
const cli = parseCommandLine({
  invocation: 'npx tsx scripts/smoke-client.ts',
  summary: 'The client half of the container and compose smoke tests (scripts/container-smoke.sh, compose-smoke.sh),\n' +
    'against a running service at BASE (default http://127.0.0.1:3000); with API_TOKEN set, every request carries it.\n' +
    'Exits 1, saying why, on anything unexpected.',
  options: {},
  positionals: { synopsis: 'COMMAND [BASE] [ARGS...]', min: 1, max: 6 },
  notes: `commands:\n${Object.entries(commands).map(([name, args]) => `  ${[name, 'BASE', ...args].join(' ')}`).join('\n')}`,
});
const [command, base = 'http://127.0.0.1:3000', ...rest] = cli.positionals;
if (!Object.hasOwn(commands, command)) cli.fail(`unknown command ${JSON.stringify(command)}`);
// BASE may be left out only by the commands that take nothing after it.
if (rest.length !== commands[command].length && !(cli.positionals.length === 1 && commands[command].length === 0)) {
  cli.fail(`${command} takes ${['BASE', ...commands[command]].join(' ')}`);
}
// More epochs than any machine trains in this test's few seconds: the stop lands part-way.
const LONG_EPOCHS = 1000;
// Test image 0 (an ankle boot): one epoch of training already classifies it right.
const IMAGE_INDEX = 0;

function fail(message: string): never {
  console.error(`smoke-client: ${message}`);
  process.exit(1);
}

const authorization: Record<string, string> = process.env.API_TOKEN ? { authorization: `Bearer ${process.env.API_TOKEN}` } : {};

async function request(method: string, path: string, body?: unknown, at = base): Promise<any> {
  const response = await fetch(`${at}${path}`, {
    method,
    headers: body === undefined ? authorization : { ...authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((error: Error) => fail(`${method} ${at}${path}: ${(error.cause as Error | undefined)?.message ?? error.message}`));
  const text = await response.text();
  if (!response.ok) fail(`${method} ${at}${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// Collects the job's messages until `enough(messages)` holds or the server closes the stream.
function follow(jobId: string, enough: (messages: Array<Record<string, any>>) => boolean = () => false, at = base): Promise<Array<Record<string, any>>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${at.replace(/^http/, 'ws')}/jobs/${jobId}/events`, { headers: authorization });
    const messages: Array<Record<string, any>> = [];
    const timer = setTimeout(() => reject(new Error(`job ${jobId}: not done within 120 s`)), 120_000);
    socket.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      if (enough(messages)) {
        clearTimeout(timer);
        socket.close();
        resolve(messages);
      }
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 1000) reject(new Error(`stream closed with ${code}`));
      else resolve(messages);
    });
    socket.on('error', reject);
  });
}

async function predictOne(model: string, at = base): Promise<{ label: number; expected: number; probabilities: number[] }> {
  const { test } = await loadFashionMnist();
  const image = Array.from(test.images.subarray(IMAGE_INDEX * IMAGE_SIZE, (IMAGE_INDEX + 1) * IMAGE_SIZE));
  const answer = await request('POST', '/predict', { model, images: [image] }, at);
  if (answer.model !== model || answer.predictions.length !== 1) fail(`unexpected /predict answer ${JSON.stringify(answer).slice(0, 300)}`);
  const { label, probabilities } = answer.predictions[0] as { label: number; probabilities: number[] };
  const sum = probabilities.reduce((a, b) => a + b, 0);
  if (probabilities.length !== 10 || Math.abs(sum - 1) > 1e-4) fail(`probabilities ${JSON.stringify(probabilities)} do not sum to 1`);
  const expected = test.labels[IMAGE_INDEX];
  if (label !== expected) fail(`model ${model} labels test image ${IMAGE_INDEX} as ${label}; its true label is ${expected}`);
  return { label, expected, probabilities };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (command === 'train') {
  const job = await request('POST', '/jobs', { epochs: 1, seed: 1 });
  const messages = await follow(job.id).catch((error: Error) => fail(error.message));
  const end = messages.at(-1);
  if (end?.type !== 'end' || end.status !== 'succeeded') fail(`job did not succeed: ${JSON.stringify(end).slice(0, 300)}`);
  const epochs = messages.filter((m) => m.type === 'epoch');
  if (epochs.length !== 1) fail(`expected 1 epoch message, got ${epochs.length}`);
  const modelId: string = end.job.modelId;
  const { label, expected, probabilities } = await predictOne(modelId);
  console.log(JSON.stringify({ jobId: job.id, modelId, testAcc: epochs[0].metrics.testAcc, label, expected, probabilities }));
} else if (command === 'interrupt-me') {
  const job = await request('POST', '/jobs', { epochs: LONG_EPOCHS, seed: 2 });
  const epochsSeen = (messages: Array<Record<string, any>>) => messages.filter((m) => m.type === 'epoch').length;
  const messages = await follow(job.id, (received) => epochsSeen(received) >= 2).catch((error: Error) => fail(error.message));
  if (epochsSeen(messages) < 2) fail(`the stream ended after ${epochsSeen(messages)} epochs: ${JSON.stringify(messages.at(-1)).slice(0, 300)}`);
  const now = await request('GET', `/jobs/${job.id}`);
  if (now.status !== 'running' || now.epochsDone >= LONG_EPOCHS) fail(`job ${job.id} is not running part-way: ${now.status}, ${now.epochsDone} epochs`);
  console.log(JSON.stringify({ jobId: job.id, epochsDone: now.epochsDone, metrics: now.metrics }));
} else if (command === 'check') {
  const [model, before] = rest;
  const { models } = await request('GET', '/models');
  if (!models.some((m: { id: string }) => m.id === model)) fail(`model ${model} is gone after the restart`);
  const { label, expected, probabilities } = await predictOne(model);
  if (JSON.stringify(probabilities) !== JSON.stringify(JSON.parse(before))) {
    fail(`model ${model} predicts ${JSON.stringify(probabilities)} after the restart, ${before} before it`);
  }
  console.log(JSON.stringify({ modelId: model, models: models.length, label, expected }));
} else if (command === 'resumed') {
  const [jobId, before] = [rest[0], JSON.parse(rest[1]) as Array<Record<string, number>>];
  const seen = before.length;
  const back = await request('GET', `/jobs/${jobId}`);
  if (!['queued', 'running'].includes(back.status)) fail(`job ${jobId} is ${back.status} after the restart, not queued or running`);
  if (!(back.epochsDone >= seen)) fail(`job ${jobId} came back with ${back.epochsDone} epochs; ${seen} were done before docker stop`);
  // A job that lost its epochs and trained them again may have caught up by now; their
  // timings would differ.
  const kept = JSON.stringify(back.metrics.slice(0, seen));
  if (kept !== JSON.stringify(before)) fail(`job ${jobId}'s first ${seen} epochs are ${kept} after the restart, ${JSON.stringify(before)} before it`);
  if (back.epochsDone >= LONG_EPOCHS) fail(`job ${jobId} had finished: nothing was interrupted`);
  const epochsBack: number = back.epochsDone;
  if (back.metrics.length !== epochsBack) fail(`job ${jobId} has ${epochsBack} epochs done but ${back.metrics.length} epochs of metrics`);
  const deadline = Date.now() + 120_000;
  let now = back;
  while (!(now.status === 'running' && now.epochsDone > epochsBack)) {
    if (now.status !== 'queued' && now.status !== 'running') fail(`job ${jobId} became ${now.status} instead of resuming`);
    if (Date.now() > deadline) fail(`job ${jobId} did not train past epoch ${epochsBack} within 120 s`);
    await sleep(50);
    now = await request('GET', `/jobs/${jobId}`);
  }
  await request('POST', `/jobs/${jobId}/cancel`);
  console.log(JSON.stringify({ kept: epochsBack, resumedTo: now.epochsDone }));
} else if (command === 'cluster') {
  const [a, b] = [base, rest[0]];
  const job = await request('POST', '/jobs', { epochs: 3, seed: 1 }, a);
  const messages = await follow(job.id, undefined, b).catch((error: Error) => fail(error.message));
  const end = messages.at(-1);
  if (end?.type !== 'end' || end.status !== 'succeeded') fail(`job did not succeed: ${JSON.stringify(end).slice(0, 300)}`);
  const epochs = messages.filter((m) => m.type === 'epoch').map((m) => m.metrics.epoch);
  if (JSON.stringify(epochs) !== '[1,2,3]') fail(`epoch messages on B: ${JSON.stringify(epochs)}, not [1,2,3]`);
  const worker = messages.find((m) => m.type === 'status' && m.status === 'running')?.job.worker;
  if (!/^worker-[12]$/.test(worker)) fail(`the running status names worker ${JSON.stringify(worker)}, not worker-1 or worker-2`);
  const modelId: string = end.job.modelId;
  const onA = await predictOne(modelId, a);
  const onB = await predictOne(modelId, b);
  if (JSON.stringify(onA.probabilities) !== JSON.stringify(onB.probabilities)) fail(`model ${modelId} predicts differently on A and B`);
  console.log(JSON.stringify({ jobId: job.id, modelId, worker, testAcc: end.job.metrics.at(-1).testAcc, label: onA.label, probabilities: onA.probabilities }));
} else if (command === 'cluster-check') {
  const [a, b] = [base, rest[0]];
  const [jobId, model, before] = rest.slice(1);
  const job = await request('GET', `/jobs/${jobId}`, undefined, b);
  if (job.status !== 'succeeded' || job.modelId !== model) fail(`job ${jobId} is ${job.status} with model ${job.modelId} after the Redis restart`);
  const { models } = await request('GET', '/models', undefined, a);
  if (!models.some((m: { id: string }) => m.id === model)) fail(`model ${model} is gone after the Redis restart`);
  const { probabilities } = await predictOne(model, b);
  if (JSON.stringify(probabilities) !== before) fail(`model ${model} predicts ${JSON.stringify(probabilities)} after the restart, ${before} before it`);
  const next = await request('POST', '/jobs', { epochs: 1, seed: 2 }, b);
  const deadline = Date.now() + 120_000;
  let now = next;
  while (!['succeeded', 'failed', 'cancelled'].includes(now.status)) {
    if (Date.now() > deadline) fail(`job ${next.id}, posted after the restart, did not finish within 120 s (${now.status})`);
    await sleep(100);
    now = await request('GET', `/jobs/${next.id}`, undefined, a);
  }
  if (now.status !== 'succeeded') fail(`job ${next.id}, posted after the restart, ${now.status}`);
  // Its model, trained on a worker, is listed on A within a second (announced over pub/sub).
  const listedBy = Date.now() + 1_000;
  let listed = await request('GET', '/models', undefined, a);
  while (!listed.models.some((m: { id: string }) => m.id === now.modelId)) {
    if (Date.now() > listedBy) fail(`model ${now.modelId} of job ${next.id} is not listed on A a second after the job succeeded`);
    await sleep(20);
    listed = await request('GET', '/models', undefined, a);
  }
  const { jobs } = await request('GET', '/jobs', undefined, a);
  console.log(JSON.stringify({ jobs: jobs.length, models: listed.models.length }));
}
