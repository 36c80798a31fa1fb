// The 1 ms probe of the cleanup benchmark: a `setInterval` timer whose longest gap between two
// ticks is the longest time the event loop could not run it. The CPU time the process used
// within each gap (`process.cpuUsage()`, every thread) tells a block of the process's own from
// time it spent off the CPU, waiting for a core the host gave to something else.
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';

const cpuMs = ({ user, system }) => (user + system) / 1_000;

export class GapProbe {
  /** The longest gap between two ticks (ms). */
  longestGapMs = 0;
  /** The CPU time the process used within the longest gap (ms). */
  longestGapCpuMs = 0;
  /** The most CPU time the process used within any one gap (ms): what it did itself. */
  busiestGapCpuMs = 0;
  #timer;
  #last = 0;
  #lastCpu = 0;
  /** Called at the next tick, once `stop` asked for it. */
  #onTick;

  /** Starts ticking every millisecond; the first gap is measured from now. */
  start() {
    this.#last = performance.now();
    this.#lastCpu = cpuMs(process.cpuUsage());
    this.#timer = setInterval(() => {
      const now = performance.now();
      const cpu = cpuMs(process.cpuUsage());
      const gap = now - this.#last;
      const used = cpu - this.#lastCpu;
      if (gap > this.longestGapMs) {
        this.longestGapMs = gap;
        this.longestGapCpuMs = used;
      }
      if (used > this.busiestGapCpuMs) this.busiestGapCpuMs = used;
      this.#last = now;
      this.#lastCpu = cpu;
      this.#onTick?.();
    }, 1);
    return this;
  }

  /** Restarts the measured gap from now (after a warm-up tick, say). */
  restart() {
    this.#last = performance.now();
    this.#lastCpu = cpuMs(process.cpuUsage());
  }

  /**
   * Stops at the next tick, so that the gap under way (the end of the work measured, up to the
   * moment the event loop is free again) is counted too.
   */
  async stop() {
    await new Promise((resolve) => (this.#onTick = resolve));
    clearInterval(this.#timer);
  }
}
