/**
 * Local mode's stand-in for the EventBridge schedule: the same sweeper on a timer, one run at
 * a time (a run still going when the timer fires makes that tick a no-op, as a Lambda
 * concurrency limit of one would).
 */
import type { Logger } from '../http/context.js';
import type { Sweeper, SweepResult } from './sweeper.js';

export interface SweepTimer {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

const didSomething = (r: SweepResult): boolean =>
  r.expiredDeleted + r.released + r.recordsDeleted + r.floorDeleted > 0 || r.budgetHit;

/** Starts sweeping every `intervalMs`; logs runs that changed something and failures (never throws). */
export function startSweepTimer(sweeper: Sweeper, intervalMs: number, log: Logger): SweepTimer {
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = sweeper
      .sweep()
      .then(
        (result) => {
          if (didSomething(result)) log.info('sweep', { ...result });
        },
        (err: unknown) => log.error('sweep failed', { error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
