import { join } from "node:path";
import { MessageChannel } from "node:worker_threads";
import { firstValueFrom } from "rxjs";
import { filter } from "rxjs/operators";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import {
  AppendTooLargeError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
} from "../event-store/errors.js";
import type { EventStore } from "../event-store/port.js";
import { tempDataDir } from "../test-support/service.js";
import {
  type AppendReply,
  type AppendRequest,
  CommitSignal,
  observeCommit,
  relayCommits,
  relayingAppends,
  serveAppend,
} from "./append-relay.js";

/**
 * The processors thread's appends relayed to the request thread's connection, over a real
 * MessageChannel (what worker_threads use) and a real embedded store: the events land through the
 * serving connection, and the port's errors arrive as the same error types.
 */
describe("appends relayed to the thread that writes the file", () => {
  const data = tempDataDir("parking-relay-");
  const stores: EventStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  function relay() {
    const file = join(data.dir, `events-${stores.length}.sqlite`);
    const writer = SqliteEventStore.open({ file });
    const reader = SqliteEventStore.open({ file });
    stores.push(writer);
    const { port1: requestThread, port2: processorsThread } = new MessageChannel();
    requestThread.on("message", (request: AppendRequest) => {
      void serveAppend(writer, request).then((reply) => requestThread.postMessage(reply));
    });
    const relayed = relayingAppends(reader, (request) => processorsThread.postMessage(request));
    processorsThread.on("message", (reply: AppendReply) => relayed.receive(reply));
    stores.push(relayed.store);
    return {
      writer,
      relayed: relayed.store,
      close: () => {
        requestThread.close();
        processorsThread.close();
      },
    };
  }

  it("appends through the serving connection and answers with its revision and position", async () => {
    const { writer, relayed, close } = relay();
    const event = { type: "CouponIssued", data: { n: 1 }, metadata: {} };
    const result = await relayed.appendToStream("coupon-1", [event, event], {
      expectedRevision: "no_stream",
    });
    expect(result.nextExpectedRevision).toBe(1);
    expect(await writer.headPosition()).toEqual(result.position);
    const read = [];
    for await (const e of relayed.readStream("coupon-1")) read.push(e.type);
    expect(read).toEqual(["CouponIssued", "CouponIssued"]);
    close();
  });

  it("rejects a conflicting append with the port's WrongExpectedRevisionError, stream and revisions kept", async () => {
    const { relayed, close } = relay();
    const event = { type: "CouponIssued", data: {}, metadata: {} };
    await relayed.appendToStream("coupon-2", [event], { expectedRevision: "no_stream" });
    const conflict = relayed.appendToStream("coupon-2", [event], { expectedRevision: 5 });
    await expect(conflict).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await expect(conflict).rejects.toMatchObject({ streamId: "coupon-2", expected: 5, actual: 0 });
    close();
  });

  it("states the store's largest write and rejects a bigger append with the port's AppendTooLargeError", async () => {
    const file = join(data.dir, "events-capped.sqlite");
    const writer = SqliteEventStore.open({ file });
    const reader = SqliteEventStore.open({ file });
    stores.push(writer);
    // A store with EventStoreDB's kind of limit (its MaxAppendSize), as the relayed side sees it.
    const capped = Object.assign(Object.create(writer) as EventStore, { maxAppendBytes: 100 });
    capped.appendToStream = () =>
      Promise.reject(new AppendTooLargeError("Maximum Append Size of 100 Exceeded."));
    const { port1: requestThread, port2: processorsThread } = new MessageChannel();
    requestThread.on("message", (request: AppendRequest) => {
      void serveAppend(capped, request).then((reply) => requestThread.postMessage(reply));
    });
    const relayed = relayingAppends(
      Object.assign(Object.create(reader) as EventStore, { maxAppendBytes: 100 }),
      (r) => processorsThread.postMessage(r),
    );
    processorsThread.on("message", (reply: AppendReply) => relayed.receive(reply));
    stores.push(relayed.store);
    expect(relayed.store.maxAppendBytes).toBe(100);
    const big = { type: "CouponIssued", data: { n: "x".repeat(200) }, metadata: {} };
    const refused = relayed.store.appendToStream("coupon-big", [big], { expectedRevision: "no_stream" });
    await expect(refused).rejects.toBeInstanceOf(AppendTooLargeError);
    requestThread.close();
    processorsThread.close();
  });

  it("fails an append still unanswered when the store closes, instead of leaving it hanging", async () => {
    const file = join(data.dir, "events-unanswered.sqlite");
    const reader = SqliteEventStore.open({ file });
    const relayed = relayingAppends(reader, () => undefined);
    const pending = relayed.store.appendToStream("coupon-3", [{ type: "X", data: {}, metadata: {} }], {
      expectedRevision: "any",
    });
    await relayed.store.close();
    await expect(pending).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });

  it("wakes the other connection's live subscription when the writer commits (no poll in between)", async () => {
    const file = join(data.dir, "events-committed.sqlite");
    const writer = SqliteEventStore.open({ file });
    // Its poll would first look at the head 10 s from now: only the notice can deliver sooner.
    const reader = SqliteEventStore.open({ file, pollIntervalMs: 10_000 });
    stores.push(writer, reader);
    const { port1: requestThread, port2: processorsThread } = new MessageChannel();
    const signal = new CommitSignal();
    const notices: unknown[] = [];
    const stop = relayCommits(writer, signal, (notice) => {
      notices.push(notice);
      requestThread.postMessage(notice);
    });
    processorsThread.on("message", () => observeCommit(reader, new CommitSignal(signal.buffer)));
    const feed = reader.followAll({ from: "start" });
    const caughtUp = firstValueFrom(feed.pipe(filter((m) => m.kind === "caught-up")));
    const seen = firstValueFrom(feed.pipe(filter((m) => m.kind === "event")));
    await caughtUp;
    const { position } = await writer.appendToStream("coupon-4", [{ type: "X", data: {}, metadata: {} }], {
      expectedRevision: "no_stream",
    });
    const message = await seen;
    expect(message.kind === "event" && message.event.position).toEqual(position);
    expect(notices).toHaveLength(1);
    stop();
    requestThread.close();
    processorsThread.close();
  });

  it("posts one notice while the other thread has not taken the last one; the head it takes is the latest", async () => {
    const file = join(data.dir, "events-signal.sqlite");
    const writer = SqliteEventStore.open({ file });
    stores.push(writer);
    const signal = new CommitSignal();
    const notices: unknown[] = [];
    const stop = relayCommits(writer, signal, (notice) => notices.push(notice));
    const event = { type: "X", data: {}, metadata: {} };
    await writer.appendToStream("coupon-5", [event], { expectedRevision: "any" });
    const { position } = await writer.appendToStream("coupon-5", [event], { expectedRevision: "any" });
    expect(notices).toHaveLength(1); // the first is not taken yet
    const other = new CommitSignal(signal.buffer); // the processors thread's view of it
    expect(other.take()).toBe(position.commit);
    await writer.appendToStream("coupon-5", [event], { expectedRevision: "any" });
    expect(notices).toHaveLength(2);
    stop();
  });
});
