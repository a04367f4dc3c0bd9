/**
 * The sweep pages `sweep serve` is making: at most REPORT_BUILDS at once (each is a worker thread
 * holding the sweep's data), the others waiting their turn; each can be ended where it is (its
 * client gone, the server closing).
 */
/** How many sweep pages are made at once: each is a worker thread that holds the sweep's data (tens of MB for a small one). */
export const REPORT_BUILDS = 2;

/** The report builds under way and waiting, each ended when its client goes away or the server closes. */
export class Builds {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  readonly all = new Set<AbortController>();

  /** Runs `build` once fewer than REPORT_BUILDS others run; rejects with the stop's reason if it comes first. */
  async run<T>(stop: AbortSignal, build: () => Promise<T>): Promise<T> {
    if (this.running < REPORT_BUILDS) this.running++;
    else {
      // A build that ends hands its place to the first waiting (running stays as it is).
      await new Promise<void>((go, fail) => {
        this.waiting.push(go);
        stop.addEventListener('abort', () => {
          const at = this.waiting.indexOf(go);
          if (at >= 0) this.waiting.splice(at, 1);
          fail(stop.reason);
        }, { once: true });
      });
    }
    try {
      return await build();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
