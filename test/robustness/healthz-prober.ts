// A separate client for flood tests: a worker thread with its own event loop, timing GET /healthz
// one request after another on a kept-alive connection, 2 ms apart. It says when it has a
// baseline of 20 samples, and posts all of them when told to stop.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface Sample {
  sentAt: number;
  ms: number;
  status: number;
}

const PROBER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const now = () => performance.timeOrigin + performance.now();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () => new Promise((resolve) => {
  http.get(workerData.url, { agent }, (response) => {
    response.resume();
    response.on('end', () => resolve(response.statusCode));
  }).on('error', () => resolve(-1));
});
let stopped = false;
parentPort.on('message', () => { stopped = true; });
(async () => {
  const samples = [];
  while (!stopped) {
    const sentAt = now();
    const status = await get();
    samples.push({ sentAt, ms: now() - sentAt, status });
    if (samples.length === 20) parentPort.postMessage('baseline');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  agent.destroy();
  parentPort.postMessage({ samples });
})();
`;

export const now = () => performance.timeOrigin + performance.now();

// Starts probing `url`; resolves once it has its baseline. stop() gives every sample.
export async function startProber(url: string): Promise<{ stop: () => Promise<Sample[]> }> {
  const prober = new Worker(PROBER, { eval: true, workerData: { url } });
  const [first] = await once(prober, 'message');
  if (first !== 'baseline') throw new Error(`prober said ${first}`);
  return {
    stop: async () => {
      const stopped = once(prober, 'message');
      prober.postMessage('stop');
      const { samples } = (await stopped)[0] as { samples: Sample[] };
      await prober.terminate();
      return samples;
    },
  };
}
