import { setTimeout as sleep } from "node:timers/promises";
import type { Observable, Subscription } from "rxjs";
import { afterEach, beforeEach, describe } from "vitest";
import type { EventStore, EventToAppend, ExpectedRevision, RecordedEvent } from "../event-store/port.js";
import { appendContract } from "./event-store-contract/appends.js";
import { closeAndPropertiesContract } from "./event-store-contract/close-and-properties.js";
import { readContract } from "./event-store-contract/reads.js";
import { subscriptionContract } from "./event-store-contract/subscriptions.js";
import { type ContractContext, events, type Recording } from "./event-store-contract/support.js";

/**
 * The behaviour every EventStore adapter must have. Each test works in streams of its own
 * (a fresh category `c<uuid>-`), and everything it asserts about the global log is read through a
 * filter on that category or on types of its own, so the suite also runs against a shared server
 * whose log holds other events.
 */
export function eventStoreContract(
  name: string,
  open: () => Promise<{ store: EventStore; dispose: () => Promise<void> }>,
): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let dispose: () => Promise<void>;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      ({ store, dispose } = await open());
    });

    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      await dispose();
    });

    /** Starts recording a subscription (unsubscribed after the test). */
    function record(observable: Observable<RecordedEvent>): Recording {
      const recording: Recording = {
        events: [],
        error: undefined,
        completed: false,
        subscription: undefined,
      };
      recording.subscription = observable.subscribe({
        next: (event) => recording.events.push(event),
        error: (error: unknown) => {
          recording.error = error;
        },
        complete: () => {
          recording.completed = true;
        },
      });
      subscriptions.push(recording.subscription);
      return recording;
    }

    async function append(
      streamId: string,
      events: readonly EventToAppend[],
      expectedRevision: ExpectedRevision = "any",
    ) {
      return store.appendToStream(streamId, events, { expectedRevision });
    }

    /**
     * A subscription from "end" is live once the store has registered it, which a remote server
     * does asynchronously: append probes to a stream of the test until one comes through.
     */
    async function untilLive(recording: Recording, probeStream: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      const arrived = () => recording.events.some((e) => e.streamId === probeStream);
      while (!arrived()) {
        if (Date.now() > deadline) throw new Error("the subscription never went live");
        await append(probeStream, events(1));
        const wait = Date.now() + 250;
        while (!arrived() && Date.now() < wait) await sleep(5);
      }
    }

    const ctx: ContractContext = {
      get store() {
        return store;
      },
      record,
      append,
      keep: (subscription) => subscriptions.push(subscription),
      untilLive,
    };
    appendContract(ctx);
    readContract(ctx);
    subscriptionContract(ctx);
    closeAndPropertiesContract(ctx);
  });
}
