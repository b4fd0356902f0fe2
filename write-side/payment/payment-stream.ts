import type { EventStore } from "../../event-store/port.js";
import { type Causation, decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { PaymentEvent } from "../parking-lot/payment-state.js";
import {
  evolvePaymentAggregate,
  noPayment,
  PAYMENT_EVENT_TYPES,
  type PaymentState,
  paymentStream,
} from "./payment.js";

/** A payment as its stream holds it now, with the stream's revision (-1: no stream). */
export interface PaymentAtRevision {
  readonly state: PaymentState;
  readonly revision: number;
}

/** Reads a reservation's payment: its stream holds a handful of events (one settlement, a few steps). */
export async function readPayment(eventStore: EventStore, reservationId: string): Promise<PaymentAtRevision> {
  let state = noPayment;
  let revision = -1;
  for await (const recorded of eventStore.readStream(paymentStream(reservationId))) {
    revision = recorded.revision;
    if (!PAYMENT_EVENT_TYPES.has(recorded.type)) continue;
    state = evolvePaymentAggregate(state, decodeEvent(recorded).event as PaymentEvent);
  }
  return { state, revision };
}

/**
 * Appends what the payment decided, expecting the revision it was decided at: a concurrent change
 * (a webhook and the saga recording the same step) makes it throw WrongExpectedRevisionError, and
 * the caller decides again on what is there now (a repeat then appends nothing). Issue 48: not
 * called yet (the saga still appends payment facts through the lot); the adapter the wiring is to use.
 */
export async function appendPayment(
  eventStore: EventStore,
  reservationId: string,
  events: readonly PaymentEvent[],
  revision: number,
  causation: Causation,
): Promise<void> {
  if (events.length === 0) return;
  await eventStore.appendToStream(
    paymentStream(reservationId),
    events.map((event) => encodeEvent(event, causation)),
    { expectedRevision: revision < 0 ? "no_stream" : revision },
  );
}
