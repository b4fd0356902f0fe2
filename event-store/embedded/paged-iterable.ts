import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** One page of rows, and whether it is the last one. */
export interface Page<Row> {
  readonly rows: readonly Row[];
  readonly last: boolean;
}

/**
 * An AsyncIterable over pages read synchronously one at a time. `open` runs when iteration starts
 * (so its errors surface from the first `next()`), and returns the function that reads each page.
 * Between pages the iterator yields to the event loop, so reading a huge log never starves the
 * process; within a page items are handed out without the per-item cost of an async generator.
 */
export function pagedIterable<Row, Item>(
  open: () => () => Page<Row>,
  decode: (row: Row) => Item,
): AsyncIterable<Item> {
  return { [Symbol.asyncIterator]: () => new PagedIterator(open, decode) };
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

class PagedIterator<Row, Item> implements AsyncIterator<Item, undefined> {
  private readPage: (() => Page<Row>) | undefined;
  private rows: readonly Row[] = [];
  private index = 0;
  private last = false;
  private finished = false;

  constructor(
    private readonly open: () => () => Page<Row>,
    private readonly decode: (row: Row) => Item,
  ) {}

  next(): Promise<IteratorResult<Item, undefined>> {
    if (this.index < this.rows.length) {
      try {
        return Promise.resolve({ done: false, value: this.decode(this.rows[this.index++] as Row) });
      } catch (error) {
        this.finish();
        return Promise.reject(error);
      }
    }
    if (this.finished || this.last) {
      this.finish();
      return Promise.resolve(DONE);
    }
    return this.fetch();
  }

  return(): Promise<IteratorResult<Item, undefined>> {
    this.finish();
    return Promise.resolve(DONE);
  }

  private async fetch(): Promise<IteratorResult<Item, undefined>> {
    try {
      for (;;) {
        if (this.readPage === undefined) {
          this.readPage = this.open();
        } else {
          await yieldToEventLoop();
          if (this.finished) return DONE;
        }
        const page = this.readPage();
        this.rows = page.rows;
        this.index = 0;
        this.last = page.last;
        if (this.rows.length > 0) return { done: false, value: this.decode(this.rows[this.index++] as Row) };
        if (this.last) {
          this.finish();
          return DONE;
        }
      }
    } catch (error) {
      this.finish();
      throw error;
    }
  }

  private finish(): void {
    this.finished = true;
    this.rows = [];
    this.index = 0;
  }
}
