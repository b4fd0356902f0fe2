import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventStoreClosedError } from "../../event-store/errors.js";
import type { EventToAppend } from "../../event-store/port.js";
import type { Position } from "../../event-store/position.js";
import {
  type ContractContext,
  collect,
  events,
  eventually,
  expectIncreasing,
  newCategory,
} from "./support.js";

/** close, and properties over generated appends. */
export function closeAndPropertiesContract(ctx: ContractContext): void {
  describe("close", () => {
    it("errors open subscriptions and refuses further calls with EventStoreClosedError", async () => {
      const category = newCategory();
      await ctx.append(`${category}a`, events(1));
      const recording = ctx.record(
        ctx.store.subscribeToAll({ from: "start", filter: { streamPrefixes: [category] } }),
      );
      await eventually(() => recording.events.length >= 1, "the first event");
      await ctx.store.close();
      await eventually(() => recording.error !== undefined, "the subscription to error");
      expect(recording.error).toBeInstanceOf(EventStoreClosedError);
      expect(recording.completed).toBe(false);
      await expect(ctx.append(`${category}a`, events(1))).rejects.toBeInstanceOf(EventStoreClosedError);
      await expect(collect(ctx.store.readStream(`${category}a`))).rejects.toBeInstanceOf(
        EventStoreClosedError,
      );
      await expect(collect(ctx.store.readAll())).rejects.toBeInstanceOf(EventStoreClosedError);
      await expect(ctx.store.headPosition()).rejects.toBeInstanceOf(EventStoreClosedError);
      const late = ctx.record(ctx.store.subscribeToAll({ from: "start" }));
      await eventually(() => late.error !== undefined, "a late subscription to error");
      expect(late.error).toBeInstanceOf(EventStoreClosedError);
      await ctx.store.close(); // closing twice is harmless
    });
  });

  describe("properties", () => {
    it("streams and the global log hold exactly what was appended, in order", async () => {
      const payload = fc.record({
        text: fc.string({ unit: "grapheme", maxLength: 12 }),
        n: fc.integer(),
        flag: fc.boolean(),
        list: fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 3 }),
      });
      const operation = fc.record({
        stream: fc.integer({ min: 0, max: 2 }),
        batch: fc.array(payload, { minLength: 1, maxLength: 3 }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(operation, { minLength: 1, maxLength: 10 }),
          fc.boolean(),
          async (ops, concurrent) => {
            const category = newCategory();
            const streamOf = (n: number) => `${category}s${n}`;
            const toAppend = ops.map((op) => ({
              streamId: streamOf(op.stream),
              events: op.batch.map((data): EventToAppend & { id: string } => ({
                id: randomUUID(),
                type: "Generated",
                data,
                metadata: { n: data.n },
              })),
            }));

            let logOrder: { streamId: string; id: string; data: unknown }[];
            if (concurrent) {
              // Racing appends: the log decides the order; every append lands whole.
              const results = await Promise.all(
                toAppend.map((a) =>
                  ctx.store.appendToStream(a.streamId, a.events, { expectedRevision: "any" }),
                ),
              );
              const order = toAppend
                .map((a, i) => ({ a, position: (results[i] as { position: Position }).position }))
                .sort((x, y) => x.position.commit - y.position.commit);
              logOrder = order.flatMap(({ a }) =>
                a.events.map((e) => ({ streamId: a.streamId, id: e.id, data: e.data })),
              );
            } else {
              const revisions = new Map<string, number>();
              for (const a of toAppend) {
                const result = await ctx.store.appendToStream(a.streamId, a.events, {
                  expectedRevision: revisions.get(a.streamId) ?? "no_stream",
                });
                revisions.set(a.streamId, result.nextExpectedRevision);
              }
              logOrder = toAppend.flatMap((a) =>
                a.events.map((e) => ({ streamId: a.streamId, id: e.id, data: e.data })),
              );
            }

            for (let n = 0; n <= 2; n++) {
              const read = await collect(ctx.store.readStream(streamOf(n)));
              const expected = logOrder.filter((e) => e.streamId === streamOf(n));
              expect(read.map((e) => e.id)).toEqual(expected.map((e) => e.id));
              expect(read.map((e) => e.data)).toEqual(expected.map((e) => e.data));
              expect(read.map((e) => e.revision)).toEqual(expected.map((_, i) => i));
            }
            const all = await collect(ctx.store.readAll({ filter: { streamPrefixes: [category] } }));
            expect(all.map((e) => e.id)).toEqual(logOrder.map((e) => e.id));
            expectIncreasing(all.map((e) => e.position));
          },
        ),
        { numRuns: 15 },
      );
    });
  });
}
