import type { DocumentStore } from "../../document-store/port.js";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { EventStore } from "../../event-store/port.js";
import type { Logger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import type { ParkingLotState } from "../parking-lot/decider.js";
import { type PaymentState, type PaymentStreamEvent, paymentStream } from "./payment.js";
import {
  evolveStream,
  isPaymentStreamType,
  NO_STREAM,
  type PaymentStream,
  paymentNow,
} from "./payment-handler.js";

/**
 * Issue 48, item 5: the upgrade that carries every payment a lot's stream still holds (written
 * before payments had streams of their own) onto `payment-{reservationId}`, as one
 * PaymentCarriedOver holding its whole state as the old scheme computes it (the lot's frozen
 * record, the payment stream's own facts since on top). From then on the payment stream alone
 * answers. Each append expects the payment stream's revision it read (a command racing the
 * upgrade makes it read again and carry over what that command left); a payment carried over
 * already is skipped, so the upgrade is idempotent and safe beside a running service. Nothing is
 * appended to a lot's stream. Done once, it records so in the document store (one read on start).
 */

/** Where the upgrade records that it is done: one document. */
export const UPGRADES = "upgrades";
export const PAYMENTS_CARRIED_OVER = "payments-carried-over-48";

export interface UpgradeProgress {
  readonly lotsDone: number;
  readonly lotsTotal: number;
  /** Payments carried over so far (by this run). */
  readonly carried: number;
}

export interface UpgradeResult extends UpgradeProgress {
  /** Old payments found carried over already (an earlier or a concurrent run). */
  readonly skipped: number;
  /** Whether the marker said it was done, and nothing was read. */
  readonly doneBefore: boolean;
}

export interface PaymentUpgradeOptions {
  readonly eventStore: EventStore;
  /** The lot's state now (the command handler's `stateNow`: its snapshot and its period). */
  readonly lotState: (parkingLotId: string) => Promise<ParkingLotState>;
  readonly now: () => Date;
  readonly retryLimit?: number;
  readonly onProgress?: (progress: UpgradeProgress) => void;
  readonly logger?: Logger;
}

const ACTOR = systemActor("upgrade");

/**
 * Old data (issue 48): a payment whose facts a lot's stream holds, written before its payment had
 * a stream of its own, as the lot's record folded them (it gets no payment fact since, so it is
 * exactly what those facts said). Undefined for a booking made since: its record only ever holds
 * what its booking asked (no intent, still pending), its payment's facts being on its own stream.
 * Bounded: one record of the lot's state, never a read of its history.
 */
function paymentBefore48(state: ParkingLotState, reservationId: string): PaymentState | undefined {
  if (state.kind !== "registered") return undefined;
  const record = state.payments.get(reservationId);
  if (!record || (record.state === "pending" && record.intentId === undefined)) return undefined;
  return {
    kind: "open",
    parkingLotId: state.parkingLotId,
    reservationId,
    status: record.state,
    ...(record.intentId !== undefined ? { intentId: record.intentId } : {}),
    currency: record.currency,
    authorized: record.authorized,
    captured: record.captured,
    refunded: record.refunded,
    refundsOutstanding: record.refundsOutstanding,
    settled: record.settled,
    ...(record.endedAt !== undefined ? { endedAt: record.endedAt } : {}),
    steps: record.steps,
    releasedIntents: record.releasedIntents ?? [],
    facts: record.facts,
  };
}

/** Every lot's id, from its registration (a lot is registered once, on its first period's stream). */
async function lotIds(eventStore: EventStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const recorded of eventStore.readAll({ filter: { eventTypes: ["ParkingLotRegistered"] } }))
    ids.push((recorded.data as { parkingLotId: string }).parkingLotId);
  return [...new Set(ids)];
}

/** A payment's stream read whole (a handful of facts), and its revision. */
async function readPayment(
  eventStore: EventStore,
  reservationId: string,
): Promise<{ stream: PaymentStream; revision: number }> {
  let stream = NO_STREAM;
  let revision = -1;
  for await (const recorded of eventStore.readStream(paymentStream(reservationId))) {
    revision = recorded.revision;
    if (isPaymentStreamType(recorded.type))
      stream = evolveStream(stream, decodeEvent(recorded).event as PaymentStreamEvent);
  }
  return { stream, revision };
}

/** The fact that carries `state` over (the lot's record says what the booking asked). */
function carriedOverFact(
  lot: Extract<ParkingLotState, { kind: "registered" }>,
  state: Extract<PaymentState, { kind: "open" }>,
  at: string,
): EventOfType<"PaymentCarriedOver"> {
  const { kind: _kind, asked: _asked, ...payment } = state;
  const record = lot.payments.get(state.reservationId);
  const asked = record
    ? { amount: record.amount, currency: record.currency, holdUntil: record.holdUntil, terms: record.terms }
    : undefined;
  if (!asked) throw new Error(`no payment record of ${state.reservationId} in lot ${lot.parkingLotId}`);
  const { refundsOutstanding, steps, releasedIntents, facts } = payment;
  return {
    type: "PaymentCarriedOver",
    data: {
      ...payment,
      refundsOutstanding: [...refundsOutstanding],
      steps: [...steps],
      releasedIntents: [...releasedIntents],
      facts: [...facts],
      carriedAt: at,
      asked,
    },
  };
}

/** One old payment onto its stream: "carried", "skipped" (done before), retried on a race. */
async function carryOne(
  options: PaymentUpgradeOptions,
  lot: Extract<ParkingLotState, { kind: "registered" }>,
  before: Extract<PaymentState, { kind: "open" }>,
): Promise<"carried" | "skipped"> {
  const { eventStore, retryLimit = 10 } = options;
  const streamId = paymentStream(before.reservationId);
  for (let attempt = 0; ; attempt++) {
    const { stream, revision } = await readPayment(eventStore, before.reservationId);
    if (stream.carried) return "skipped";
    const state = paymentNow(stream, before);
    if (state.kind !== "open") return "skipped";
    const event = carriedOverFact(lot, state, options.now().toISOString());
    const causation = {
      correlationId: `upgrade-${streamId}`,
      causationId: `upgrade-${streamId}`,
      actor: ACTOR,
    };
    try {
      await eventStore.appendToStream(streamId, [encodeEvent(event, causation)], {
        expectedRevision: revision < 0 ? "no_stream" : revision,
      });
      return "carried";
    } catch (error) {
      // A command appended to this payment meanwhile: read it again and carry what it left.
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= retryLimit) throw error;
    }
  }
}

/** Carries every old payment of every lot over (idempotent: what is carried already is skipped). */
export async function carryPaymentsOver(options: PaymentUpgradeOptions): Promise<UpgradeResult> {
  const ids = await lotIds(options.eventStore);
  let carried = 0;
  let skipped = 0;
  let lotsDone = 0;
  for (const parkingLotId of ids) {
    const lot = await options.lotState(parkingLotId);
    if (lot.kind === "registered") {
      for (const reservationId of lot.payments.keys()) {
        const before = paymentBefore48(lot, reservationId);
        if (before?.kind !== "open") continue; // begun on its own stream: it answers already
        if ((await carryOne(options, lot, before)) === "carried") carried++;
        else skipped++;
      }
    }
    lotsDone++;
    options.onProgress?.({ lotsDone, lotsTotal: ids.length, carried });
    options.logger?.info(
      { parkingLotId, lotsDone, lotsTotal: ids.length, carried, skipped },
      "payments upgrade: lot done",
    );
  }
  return { lotsDone, lotsTotal: ids.length, carried, skipped, doneBefore: false };
}

/**
 * The upgrade as a start runs it: nothing but one read once it is recorded done; otherwise the
 * whole carry-over, then the record that it is done.
 */
export async function upgradePayments(
  documents: DocumentStore,
  options: PaymentUpgradeOptions,
): Promise<UpgradeResult> {
  const marker = await documents.findById(UPGRADES, PAYMENTS_CARRIED_OVER);
  if (marker) return { lotsDone: 0, lotsTotal: 0, carried: 0, skipped: 0, doneBefore: true };
  const result = await carryPaymentsOver(options);
  await markPaymentsUpgraded(documents, result, options.now());
  options.logger?.info({ ...result }, "payments upgrade: done");
  return result;
}

/** The record that the upgrade is done (what it did, for the operator who looks). */
export async function markPaymentsUpgraded(
  documents: DocumentStore,
  result: UpgradeResult,
  at: Date,
): Promise<void> {
  await documents.write([
    {
      op: "replace",
      collection: UPGRADES,
      id: PAYMENTS_CARRIED_OVER,
      document: {
        doneAt: at.toISOString(),
        lots: result.lotsTotal,
        carried: result.carried,
        skipped: result.skipped,
      },
    },
  ]);
}
