/**
 * A session's events as an async iterable (session.ts): each reader gets every event from when it
 * starts reading, in order, then the end (or the run's error). The events from the start are held
 * until the session is handed over and the current turn of the event loop ends (seal), so a
 * reader that starts at once misses none; after that nothing is held for readers that never come
 * (a sweep of a million epochs would hold them all).
 */

interface Reader<T> {
  queue: T[];
  wake?: () => void;
}

export class EventStream<T> implements AsyncIterable<T> {
  private backlog: T[] | null = [];
  private readonly readers = new Set<Reader<T>>();
  private ended: { error?: unknown } | undefined;

  push(event: T): void {
    if (this.ended) return;
    this.backlog?.push(event);
    for (const reader of this.readers) {
      reader.queue.push(event);
      reader.wake?.();
    }
  }

  /** From the next turn of the event loop on, only readers already reading get the events. */
  seal(): void {
    setImmediate(() => (this.backlog = null));
  }

  /** No more events; readers end once they have read the ones they hold, with `error` if given. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = error === undefined ? {} : { error };
    this.backlog = null;
    for (const reader of this.readers) reader.wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const reader: Reader<T> = { queue: [...(this.backlog ?? [])] };
    this.readers.add(reader);
    const finish = (): IteratorResult<T> => {
      this.readers.delete(reader);
      return { done: true, value: undefined };
    };
    return {
      next: async () => {
        for (;;) {
          if (reader.queue.length) return { done: false, value: reader.queue.shift()! };
          if (this.ended) {
            finish();
            if (this.ended.error !== undefined) throw this.ended.error;
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => (reader.wake = resolve));
          reader.wake = undefined;
        }
      },
      return: async () => finish(),
    };
  }
}
