/**
 * Local mode's retry queue: what the SQS delay queue is in AWS, as timers in the server process.
 * A job runs through the same Notifier.runJob after its delay; a job whose run throws (storage
 * unreachable) is handed over again a second later, as SQS redelivers a message its consumer
 * reported failed. NOTE: not durable across restarts of `npm start` (pending retries live in
 * this process); the deployed queue is (docs/subscriptions.md).
 */
import type { Logger } from '../http/context.js';
import type { DeliveryJob, RetryQueue } from '../notify/jobs.js';

const REDELIVER_MS = 1_000;

export interface TimerRetryQueueOptions {
  readonly log: Logger;
  /**
   * Test hook: milliseconds per second of delay (the policy's seconds still decide the order and
   * number of attempts; tests need not wait them out). @default 1000
   */
  readonly msPerSecond?: number;
}

export class TimerRetryQueue implements RetryQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private consumer?: (job: DeliveryJob) => Promise<void>;
  private stopped = false;

  constructor(private readonly options: TimerRetryQueueOptions) {}

  /** Who runs due jobs (the notifier, built after the queue it schedules on). */
  consume(run: (job: DeliveryJob) => Promise<void>): void {
    this.consumer = run;
  }

  enqueue(job: DeliveryJob, delaySeconds: number): Promise<void> {
    this.later(job, delaySeconds * (this.options.msPerSecond ?? 1_000));
    return Promise.resolve();
  }

  /** Jobs waiting or running (tests wait for the queue to drain). */
  get pending(): number {
    return this.timers.size + this.running.size;
  }

  private later(job: DeliveryJob, ms: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = (this.consumer ?? (() => Promise.reject(new Error('no consumer'))))(job).catch((err: unknown) => {
        this.options.log.error('retry job failed; handed over again', { error: err instanceof Error ? err.message : String(err) });
        this.later(job, REDELIVER_MS);
      });
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** Drops what is waiting and waits for the jobs running now. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
