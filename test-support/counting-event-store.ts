import type { EventStore, ReadStreamOptions } from "../event-store/port.js";

/** An event as the store yielded it to a readStream call. */
export interface StreamRead {
  readonly type: string;
  readonly streamId: string;
  readonly commit: number;
}

/**
 * The event store, counting the events its readStream calls yield (what a load read) and keeping
 * each in `reads` (until `reset`); `maxCount` caps every readStream (a store that seems to end
 * there). Every other call goes straight through.
 */
export function countingReads(
  inner: EventStore,
  options: { readonly maxCount?: number } = {},
): { readonly store: EventStore; readonly reads: StreamRead[]; read(): number; reset(): void } {
  let read = 0;
  const reads: StreamRead[] = [];
  const store: EventStore = {
    appendToStream: (streamId, events, append) => inner.appendToStream(streamId, events, append),
    readStream: (streamId: string, read_?: ReadStreamOptions) =>
      (async function* () {
        const limited = options.maxCount === undefined ? read_ : { ...read_, maxCount: options.maxCount };
        for await (const event of inner.readStream(streamId, limited)) {
          read++;
          reads.push({ type: event.type, streamId: event.streamId, commit: event.position.commit });
          yield event;
        }
      })(),
    readAll: (all) => inner.readAll(all),
    subscribeToAll: (subscribe) => inner.subscribeToAll(subscribe),
    followAll: (follow) => inner.followAll(follow),
    headPosition: () => inner.headPosition(),
    close: () => inner.close(),
  };
  return {
    store,
    reads,
    read: () => read,
    reset: () => {
      read = 0;
      reads.length = 0;
    },
  };
}
