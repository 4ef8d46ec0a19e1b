import { PassThrough, pipeline, type Readable } from 'node:stream';

// Requests that decode and classify many images take turns: each waits here between slices of
// its work, and one waiter resumes per turn of the event loop. A setImmediate per request would
// let every waiting request run a slice in the same turn (Node runs all queued immediates
// together), so twenty large requests would hold the loop for twenty slices at once.
const waiting: Array<() => void> = [];

function resumeNext(): void {
  waiting.shift()!();
  // Scheduled from inside an immediate, this runs in the next turn, after pending I/O.
  if (waiting.length > 0) setImmediate(resumeNext);
}

export function nextSlice(): Promise<void> {
  return new Promise((resolve) => {
    if (waiting.push(resolve) === 1) setImmediate(resumeNext);
  });
}

// A request body that ends on its turn: its last chunk passes through, but the stream ends (and
// the body is parsed) only when its turn comes. Large bodies that arrive together would
// otherwise all be parsed in the same turn (25 JSON bodies of 2.2 MB held the loop for 1.3 s).
export function endingOnItsTurn(body: Readable): Readable {
  const gated = new PassThrough({ flush: (callback) => void nextSlice().then(() => callback()) });
  // A client that goes away mid-body fails the body (pipeline destroys `gated` with the error).
  pipeline(body, gated, () => {});
  return gated;
}
