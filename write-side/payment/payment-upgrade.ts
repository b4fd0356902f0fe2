import type { DocumentStore } from "../../document-store/port.js";
import { WrongExpectedRevisionError } from "../../event-store/errors.js";
import type { EventStore } from "../../event-store/port.js";
import type { Logger } from "../../platform/logger.js";
import { systemActor } from "../../schemas/actor.js";
import { DEFAULT_PAYMENT_TERMS, type PaymentTerms } from "../../schemas/common.js";
import { decodeEvent, encodeEvent } from "../../schemas/event-codec.js";
import type { EventOfType } from "../../schemas/events.js";
import { isUpgradeFact } from "../../schemas/payment-upgrade-events.js";
import { askedOf } from "../parking-lot/evolve.js";
import { parkingLotOfStream } from "../parking-lot/periods.js";
import { evolvePaymentAggregate, noPayment, PAYMENT_EVENT_TYPES, paymentStream } from "./payment.js";
import type { OpenPayment, PaymentEvent, PaymentState } from "./payment-facts.js";

/**
 * The upgrade that carries every payment a lot's stream still holds (written before payments had
 * streams of their own) onto `payment-{reservationId}`, as one PaymentCarriedOver holding its whole
 * state (its facts folded, its stream's own on top) and what its booking asked. The log is read
 * once. Each append expects the payment stream's revision it read, and a payment carried over is
 * skipped, so it is idempotent and safe beside a running service. Done, it records so (one read on start).
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
  readonly now: () => Date;
  readonly onProgress?: (progress: UpgradeProgress) => void;
  readonly logger?: Logger;
}

type Asked = EventOfType<"PaymentCarriedOver">["data"]["asked"];

/** An old payment as the lots' streams hold it: its facts folded, and what its booking asked. */
interface OldPayment {
  readonly state: PaymentState;
  readonly asked?: Asked;
}

/** What the upgrade reads of each lot: its terms as it goes, and its paid bookings. */
interface LotRead {
  terms: PaymentTerms;
  readonly asked: Map<string, Asked>;
  /** The bookings a payment fact on the lot's streams names (from before payments had their own). */
  readonly old: Map<string, OldPayment>;
}

/** The lots' facts the upgrade reads: what the lot asked and its terms, and the old payment facts. */
const READ_TYPES = [
  "ParkingLotRegistered",
  "ParkingLotPaymentTermsChanged",
  "LotPeriodOpened",
  "ParkingReserved",
  ...PAYMENT_EVENT_TYPES,
];

/** One lot's fact read into `lot`: a booking's ask, the lot's terms, an old payment fact folded. */
function readInto(lot: LotRead, type: string, data: Record<string, unknown>, decoded: () => unknown): void {
  if (type === "ParkingLotPaymentTermsChanged") lot.terms = data.terms as PaymentTerms;
  else if (type === "LotPeriodOpened")
    // Its summary's terms (an opening written before the summary is upcast to one as it is read).
    lot.terms =
      (decoded() as EventOfType<"LotPeriodOpened">).data.summary.terms.paymentTerms ?? DEFAULT_PAYMENT_TERMS;
  else if (type === "ParkingReserved") {
    const payment = (data as EventOfType<"ParkingReserved">["data"]).payment;
    const id = data.reservationId as string;
    if (payment && !lot.asked.has(id)) lot.asked.set(id, askedOf(payment, lot.terms)); // a booking is made once
  } else if (PAYMENT_EVENT_TYPES.has(type)) {
    const id = data.reservationId as string;
    const before = lot.old.get(id);
    const state = evolvePaymentAggregate(before?.state ?? noPayment, decoded() as PaymentEvent);
    const asked = before?.asked ?? lot.asked.get(id);
    lot.old.set(id, { state, ...(asked ? { asked } : {}) });
  }
}

/** Every lot and the old payments its streams hold: the log read once. */
async function readLots(eventStore: EventStore): Promise<Map<string, LotRead>> {
  const lots = new Map<string, LotRead>();
  for await (const recorded of eventStore.readAll({ filter: { eventTypes: READ_TYPES } })) {
    const parkingLotId = parkingLotOfStream(recorded.streamId);
    if (parkingLotId === undefined) continue; // a payment's own stream
    const lot = lots.get(parkingLotId) ?? { terms: DEFAULT_PAYMENT_TERMS, asked: new Map(), old: new Map() };
    lots.set(parkingLotId, lot);
    readInto(lot, recorded.type, recorded.data as Record<string, unknown>, () => decodeEvent(recorded).event);
  }
  return lots;
}

/** The fact that carries `state` over, with what its booking asked. */
function carriedOverFact(state: OpenPayment, asked: Asked, at: string): EventOfType<"PaymentCarriedOver"> {
  const { kind: _kind, asked: _asked, terms: _terms, saved: _saved, action: _action, ...rest } = state;
  // A lot's stream never held a saved card (saved cards came after the payments' own streams).
  const payment = {
    ...rest,
    status: rest.status === "saved" || rest.status === "action-required" ? ("pending" as const) : rest.status,
  };
  const { refundsOutstanding, steps, releasedIntents, facts } = payment;
  return {
    type: "PaymentCarriedOver",
    data: {
      ...payment,
      refundsOutstanding: refundsOutstanding.map((r) => r.amount),
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
  before: OpenPayment,
  asked: Asked,
): Promise<"carried" | "skipped"> {
  const { eventStore } = options;
  const streamId = paymentStream(before.reservationId);
  for (let attempt = 0; ; attempt++) {
    // `before` with its stream's own facts on top, unless carried over already.
    let state: PaymentState = before;
    let revision = -1;
    for await (const recorded of eventStore.readStream(streamId)) {
      if (isUpgradeFact(recorded.type)) return "skipped";
      revision = recorded.revision;
      if (PAYMENT_EVENT_TYPES.has(recorded.type))
        state = evolvePaymentAggregate(state, decodeEvent(recorded).event as PaymentEvent);
    }
    if (state.kind !== "open") return "skipped";
    const event = carriedOverFact(state, asked, options.now().toISOString());
    const cause = `upgrade-${streamId}`;
    const causation = { correlationId: cause, causationId: cause, actor: systemActor("upgrade") };
    try {
      await eventStore.appendToStream(streamId, [encodeEvent(event, causation)], {
        expectedRevision: revision < 0 ? "no_stream" : revision,
      });
      return "carried";
    } catch (error) {
      // A command appended to this payment meanwhile: read it again and carry what it left.
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= 10) throw error;
    }
  }
}

/** Carries every old payment of every lot over (idempotent: what is carried already is skipped). */
export async function carryPaymentsOver(options: PaymentUpgradeOptions): Promise<UpgradeResult> {
  const lots = await readLots(options.eventStore);
  let carried = 0;
  let skipped = 0;
  let lotsDone = 0;
  for (const [parkingLotId, lot] of lots) {
    const carriedBefore = carried;
    for (const [reservationId, { state, asked }] of lot.old) {
      if (state.kind !== "open") continue;
      if (!asked) {
        // No booking of the lot asked it to pay: the lot never kept a record of it (as before).
        options.logger?.warn(
          { parkingLotId, reservationId },
          "payments upgrade: a payment without its booking",
        );
        continue;
      }
      if ((await carryOne(options, state, asked)) === "carried") carried++;
      else skipped++;
    }
    lotsDone++;
    options.onProgress?.({ lotsDone, lotsTotal: lots.size, carried });
    // A line per lot that had payments to carry; the others at debug (the progress line counts them).
    const level = carried > carriedBefore ? "info" : "debug";
    options.logger?.[level](
      { parkingLotId, lotsDone, lotsTotal: lots.size, carried, skipped },
      "payments upgrade: lot done",
    );
  }
  return { lotsDone, lotsTotal: lots.size, carried, skipped, doneBefore: false };
}

/** The upgrade as a start runs it: one read once recorded done; else the carry-over, then that record. */
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
