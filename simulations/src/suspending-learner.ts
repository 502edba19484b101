// Many simulated clients in one process. Each client's learner stays suspended on disk between
// calls, and a gate lets only a few learners be resumed at once, so the memory of a process
// follows the gate's limit, not the number of clients it hosts.
import type { FederatedLearner } from '@distillate/client';

/** Runs at most `limit` tasks at a time, in the order they arrive. */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`The concurrency limit is ${limit}; expected a positive integer.`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await task();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** Learner methods that touch the models: each runs between resume() and suspend(), inside the gate. */
const MODEL_METHODS = new Set([
  'answerRound',
  'receiveTeacher',
  'localUpdate',
  'receiveGlobalParameters',
  'itemPatterns',
  'receiveGlobalPatterns',
  'evaluateRound',
  'finish',
]);

/**
 * Wraps a learner that supports suspend() and resume(): prepare() suspends it once ready, and
 * every method that touches its models resumes it first and suspends it after, inside the gate.
 * The wrapper has the learner's own type, so the federation client cannot tell the difference.
 */
export function suspendingLearner<L extends FederatedLearner>(learner: L, gate: ConcurrencyGate): L {
  if (!learner.suspend || !learner.resume) {
    throw new Error(`The ${learner.exchange} learner ${learner.constructor.name} cannot be suspended, so it cannot be hosted with many others.`);
  }
  const suspend = learner.suspend.bind(learner);
  const resume = learner.resume.bind(learner);

  return new Proxy(learner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;

      if (property === 'prepare') {
        return (...args: unknown[]) =>
          gate.run(async () => {
            await value.apply(target, args);
            await suspend();
          });
      }
      if (typeof property === 'string' && MODEL_METHODS.has(property)) {
        return (...args: unknown[]) =>
          gate.run(async () => {
            await resume();
            try {
              return await value.apply(target, args);
            } finally {
              await suspend();
            }
          });
      }
      return value.bind(target);
    },
  });
}
