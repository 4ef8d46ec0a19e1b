// A training runtime that trains nothing: each run waits for the test to report its events
// and end it. The job manager is tested against it (every outcome, on demand) as well as
// against the real local runtime (test/routes, test/robustness).
import { CLASS_COUNT, IMAGE_SIZE } from '../../src/engine/softmax-regression.js';
import type { EpochMetrics } from '../../src/engine/train.js';
import type { Checkpoint } from '../../src/protocol.js';
import type {
  Outcome,
  RuntimeStatus,
  StopMode,
  TrainingEvent,
  TrainingRun,
  TrainingRuntime,
  TrainingTask,
} from '../../src/runtime/training-runtime.js';

export interface ScriptedRun {
  task: TrainingTask;
  ended: boolean;
  stops: StopMode[];
  emit(event: TrainingEvent): void;
  end(outcome: Outcome): void;
}

export function epochMetrics(epoch: number): EpochMetrics {
  return { epoch, trainLoss: 1 / epoch, trainAcc: 0.5, testAcc: 0.5, seconds: 0.01 };
}

export function checkpointAfter(epochs: number): Checkpoint {
  return {
    weights: new Float32Array(IMAGE_SIZE * CLASS_COUNT).fill(epochs),
    bias: new Float32Array(CLASS_COUNT).fill(epochs),
    velocityWeights: new Float32Array(IMAGE_SIZE * CLASS_COUNT),
    velocityBias: new Float32Array(CLASS_COUNT),
    random: [1, 2, 3, epochs],
    metrics: Array.from({ length: epochs }, (_, i) => epochMetrics(i + 1)),
  };
}

export class ScriptedRuntime implements TrainingRuntime {
  readonly runs: ScriptedRun[] = [];
  readonly ready: Promise<void>;
  private isReady = false;
  private open!: () => void;
  closed = false;

  constructor(private readonly capacity = 1, { startReady = true } = {}) {
    this.ready = new Promise<void>((resolve) => (this.open = resolve)).then(() => {
      this.isReady = true;
    });
    if (startReady) this.open();
  }

  becomeReady(): Promise<void> {
    this.open();
    return this.ready;
  }

  status(): RuntimeStatus {
    return { ready: this.isReady, capacity: this.capacity, threads: this.capacity, kernels: 'typescript' };
  }

  get active(): number {
    return this.runs.filter((run) => !run.ended).length;
  }

  start(task: TrainingTask, onEvent: (event: TrainingEvent) => void): TrainingRun {
    if (this.active >= this.capacity) throw new Error(`started beyond the capacity of ${this.capacity}`);
    let end!: (outcome: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => (end = resolve));
    const run: ScriptedRun = {
      task,
      stops: [],
      ended: false,
      emit: onEvent,
      end: (result) => {
        run.ended = true;
        end(result);
      },
    };
    this.runs.push(run);
    return { outcome, stop: (mode) => void run.stops.push(mode) };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
