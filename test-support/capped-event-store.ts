import { AppendTooLargeError } from "../event-store/errors.js";
import { appendBytes, type EventStore } from "../event-store/port.js";

/**
 * The store with a largest write, refusing a bigger one as EventStoreDB does: its server setting
 * MaxAppendSize (1,048,576 bytes by default) refuses an append over it, nothing written, with
 * INVALID_ARGUMENT "Maximum Append Size of 1048576 Exceeded." (EventStoreDB server configuration,
 * "Maximum Append Size"; what the adapter maps to AppendTooLargeError).
 */
export function capped(inner: EventStore, maxAppendBytes: number): EventStore & { refused: number } {
  const store = Object.create(inner) as EventStore & { refused: number; maxAppendBytes: number };
  store.maxAppendBytes = maxAppendBytes;
  store.refused = 0;
  store.appendToStream = (streamId, toAppend, options) => {
    if (appendBytes(toAppend) > maxAppendBytes) {
      store.refused++;
      return Promise.reject(new AppendTooLargeError(`Maximum Append Size of ${maxAppendBytes} Exceeded.`));
    }
    return inner.appendToStream(streamId, toAppend, options);
  };
  store.readStream = (streamId, options) => inner.readStream(streamId, options);
  return store;
}
