import { describe, expect, it } from "vitest";
import type { DocumentStore } from "../../document-store/port.js";
import type { EventStore } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import { RESERVATIONS } from "../../projections/read-models/reservations.js";
import { Progress } from "../../projections/runtime/progress.js";
import type { ProjectionsInfo } from "../projections-info.js";
import { ReadContext } from "./read-context.js";

/**
 * Read-your-writes hears the projection's advance however the wait's first steps interleave with
 * it: an advance announced while the wait still reads the head (after its first look at the
 * checkpoint) wakes it at once, without a poll interval's timer (issue 50: missed, each such read
 * waited 5 ms, the idle ack → visible median).
 */
describe("ReadContext.awaitPosition", () => {
  const wanted: Position = { commit: 7, prepare: 7 };

  function contextAdvancingDuringHeadRead() {
    const progress = new Progress();
    let applied: Position | null = { commit: 6, prepare: 6 };
    const projections = {
      activeGenerations: async () => new Map<string, number>(),
      physicalCollection: (logical: string) => logical,
      appliedPosition: async () => applied,
    } as unknown as ProjectionsInfo;
    const eventStore = {
      // The projection commits the wanted position while the query reads the log's head.
      headPosition: async () => {
        applied = wanted;
        progress.advanced(RESERVATIONS, wanted);
        return wanted;
      },
    } as unknown as EventStore;
    return new ReadContext({} as DocumentStore, {
      eventStore,
      progress,
      projections,
      readYourWritesTimeoutMs: 10_000,
    });
  }

  it("answers as soon as an advance announced during the head's read is heard, before any timer", async () => {
    const ctx = contextAdvancingDuringHeadRead();
    const first = await Promise.race([
      ctx.awaitPosition(RESERVATIONS, wanted).then(() => "woken"),
      // Runs once the promise jobs queued now have run: a wait that polls needs a timer.
      new Promise((resolve) => setImmediate(() => resolve("polling"))),
    ]);
    expect(first).toBe("woken");
  });

  it("answers at once without listening when the position is applied already", async () => {
    const progress = new Progress();
    let listened = 0;
    const counting = {
      onAdvance: (listener: (name: string, position: Position) => void) => {
        listened++;
        return progress.onAdvance(listener);
      },
    };
    const ctx = new ReadContext({} as DocumentStore, {
      progress: counting,
      projections: {
        activeGenerations: async () => new Map<string, number>(),
        appliedPosition: async () => wanted,
      } as unknown as ProjectionsInfo,
      readYourWritesTimeoutMs: 10_000,
    });
    await ctx.awaitPosition(RESERVATIONS, wanted);
    expect(listened).toBe(0);
  });
});
