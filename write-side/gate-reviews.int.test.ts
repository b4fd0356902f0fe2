import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore, RecordedEvent } from "../event-store/port.js";
import { encodeEvent } from "../schemas/event-codec.js";
import { tempDataDir } from "../test-support/service.js";
import type { ParkingLotCommandHandler } from "./command-handler.js";
import { GateEvents, gateStream } from "./gate-events.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const LOT = "L1";
const context = {
  correlationId: "c",
  commandId: "k",
  actor: { sub: "att-1", role: "operator" as const },
  now: "2026-11-26T09:05:00.000Z",
};
const meta = { correlationId: "c", causationId: "k", actor: context.actor };

async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

describe("GateEvents.resolve: a review is resolved once", () => {
  it("another attendant's resolution landing between the read and the append: told it is resolved, nothing appended", async () => {
    const data = tempDataDir("gate-reviews-");
    const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite") });
    cleanups.push(data.remove, () => store.close());
    const stream = gateStream(LOT, "E1");
    await store.appendToStream(
      stream,
      [
        encodeEvent(
          {
            type: "GateEventRecorded",
            data: {
              eventId: "E1",
              parkingLotId: LOT,
              gateId: "north",
              direction: "entry",
              confidence: 0.3,
              at: "2026-11-26T09:00:00.000Z",
              decision: "review",
              reason: "LowConfidence",
              candidates: [],
              recordedAt: "2026-11-26T09:00:01.000Z",
            },
          },
          meta,
        ),
      ],
      { expectedRevision: "no_stream" },
    );
    const theirs = encodeEvent(
      {
        type: "GateReviewResolved",
        data: { eventId: "E1", parkingLotId: LOT, action: "deny", resolvedAt: context.now },
      },
      meta,
    );
    // The other attendant appends right after this resolve has read the stream (a stale read).
    let raced = false;
    const racing: EventStore = Object.assign(Object.create(store) as EventStore, {
      readStream: (id: string, options?: Parameters<EventStore["readStream"]>[1]) =>
        (async function* () {
          yield* store.readStream(id, options);
          if (!raced) {
            raced = true;
            await store.appendToStream(stream, [theirs], { expectedRevision: "any" });
          }
        })(),
      appendToStream: store.appendToStream.bind(store),
    });
    // A deny runs no lot command: the lot's handler is not reached.
    const gates = new GateEvents(racing, {} as ParkingLotCommandHandler);
    expect(await gates.resolve(LOT, "E1", { action: "deny" }, context)).toEqual({ alreadyResolved: true });
    expect((await collect(store.readStream(stream))).map((e) => e.type)).toEqual([
      "GateEventRecorded",
      "GateReviewResolved",
    ]);
  });
});
