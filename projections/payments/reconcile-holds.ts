import type { Logger } from "../../platform/logger.js";
import type { ParkingLotState } from "../../write-side/parking-lot/decider.js";
import { awaitingPayment } from "../../write-side/parking-lot/payments.js";
import { intentInUse, type PaymentState } from "../../write-side/payment/payment.js";
import { repairsOf } from "../../write-side/payment/payment-process.js";
import { type PaymentCommand, type PaymentCommandSender, releaseIntent } from "./payment-steps.js";
import { CARD_HOLD_LIFETIME_SECONDS, type OpenIntent, type PaymentProvider } from "./provider.js";

/**
 * The reconciliation of the provider's open intents with the lots (issue 47): every intent created
 * in the last eight days (an authorization lapses after seven) and still open (neither captured nor
 * canceled) that carries this service's metadata and that no booking counts on (write-side's
 * `intentInUse`: the intent a pending booking recorded, or the authorized one its settlement has
 * not finished with) is canceled, and the release recorded on the lot (PaymentIntentReleased,
 * `reconciliation`). Hourly on the payments process manager; `replay reconcile-holds` on demand.
 */
export interface ReconcileDeps {
  readonly provider: PaymentProvider;
  readonly send: PaymentCommandSender;
  readonly logger: Logger;
  readonly now: () => string;
  readonly lotState: (parkingLotId: string) => Promise<ParkingLotState>;
  /** A reservation's payment, as its own stream holds it (issue 48). */
  readonly paymentState: (parkingLotId: string, reservationId: string) => Promise<PaymentState>;
}

export interface ReconcileOutcome {
  /** Open intents with this service's metadata. */
  readonly open: number;
  /** Canceled because no booking counted on them. */
  readonly released: number;
  /** Left open: the provider was out (tried again next time). */
  readonly failed: number;
  /** Issue 71: authorizations bookings counted on that the provider had canceled, recorded lapsed. */
  readonly lapsed: number;
  /** Issue 71: what the provider did that the payments missed, recorded (by the command sent). */
  readonly repaired: Readonly<Record<string, number>>;
  /** Issue 71: the intent the next round's comparison goes on after (absent: it starts over). */
  readonly cursor?: string;
}

/** A hold's lifetime and a day: every intent that may still hold money, or has just lapsed. */
const LOOKBACK_SECONDS = CARD_HOLD_LIFETIME_SECONDS + 24 * 3600;
/** Issue 71: at most this many canceled intents are compared with their payments per round (bounded work). */
export const CANCELED_PER_ROUND = 200;

/**
 * Issue 71: the canceled intents of the lookback (a hold lapses seven days after it was made,
 * within it) compared with the payments that count on them: an authorization the provider let go
 * before its settlement is recorded through the payment's decider (RecordHoldLapsed,
 * `reconciliation`: audited, once), so no view reads `authorized` for money not held, even when
 * the webhook was lost.
 */
async function recordLapsedHolds(deps: ReconcileDeps, since: number): Promise<number> {
  const listed = await deps.provider.listCanceledIntents?.(since, CANCELED_PER_ROUND);
  if (!listed) return 0;
  if (!listed.ok) throw new Error(`listing the provider's canceled intents failed: ${listed.message}`);
  let lapsed = 0;
  for (const { intentId, metadata } of listed.value) {
    if (!metadata) continue; // not this deployment's
    const payment = await deps.paymentState(metadata.parkingLotId, metadata.reservationId);
    if (payment.kind !== "open" || payment.status !== "authorized" || payment.intentId !== intentId) continue;
    if (payment.settled || payment.lapsedAt !== undefined) continue;
    const cause = { correlationId: `reconcile:${intentId}`, causationId: `reconcile:${intentId}:lapsed` };
    const command = { type: "RecordHoldLapsed", ...metadata, intentId, because: "reconciliation" } as const;
    const sent = await deps.send({ ...command, now: deps.now() }, cause);
    if (sent.ok && sent.recorded) lapsed++;
  }
  return lapsed;
}
/** Issue 71: at most this many of the provider's intents are compared with their payments per round. */
export const COMPARED_PER_ROUND = 100;

/**
 * Issue 71: the provider's state is the truth after an unclear answer. A round compares one page of
 * the provider's intents of the lookback (from after `cursor`, where the last round stopped: bounded
 * work, resumable) with the payments that count on them, and sends what each payment misses
 * (write-side's `repairsOf`: an authorization whose word was lost, a capture applied though it
 * was recorded failed) through the payment's decider, each repair logged.
 */
async function repairFromProvider(
  deps: ReconcileDeps,
  since: number,
  cursor: string | undefined,
  lotState: (parkingLotId: string) => Promise<ParkingLotState>,
): Promise<Pick<ReconcileOutcome, "repaired" | "cursor">> {
  const listed = await deps.provider.listIntents?.(since, COMPARED_PER_ROUND, cursor);
  if (!listed) return { repaired: {} };
  if (!listed.ok) throw new Error(`listing the provider's intents failed: ${listed.message}`);
  const repaired: Record<string, number> = {};
  for (const intent of listed.value.intents) {
    const { parkingLotId, reservationId } = intent.metadata;
    const payment = await deps.paymentState(parkingLotId, reservationId);
    const waits = payment.kind === "open" && payment.status === "pending";
    const awaiting = waits && awaitingPayment(await lotState(parkingLotId), reservationId);
    for (const repair of repairsOf(payment, awaiting, intent)) {
      const kind = repair.type === "AuthorizePayment" ? "authorized" : `${repair.step}d`;
      const cause = {
        correlationId: `reconcile:${intent.intentId}`,
        causationId: `reconcile:${intent.intentId}:${kind}`,
      };
      const sent = await deps.send({ ...repair, now: deps.now() } as PaymentCommand, cause);
      if (!sent.ok || !sent.recorded) continue;
      repaired[kind] = (repaired[kind] ?? 0) + 1;
      deps.logger.warn(
        { ...intent.metadata, intentId: intent.intentId, repair: kind, provider: intent.status },
        "the reconciliation recorded what the provider did",
      );
    }
  }
  return { repaired, ...(listed.value.next ? { cursor: listed.value.next } : {}) };
}

/**
 * A pending intent younger than this may be one the process manager has just created and not yet
 * recorded on its lot: left for the next round. An authorized one is always recorded first.
 */
const FRESH_SECONDS = 600;

export async function reconcileHolds(
  deps: ReconcileDeps,
  options: { readonly freshSeconds?: number; readonly cursor?: string } = {},
): Promise<ReconcileOutcome> {
  const nowSeconds = Math.floor(Date.parse(deps.now()) / 1000);
  const listed = await deps.provider.listOpenIntents(nowSeconds - LOOKBACK_SECONDS);
  if (!listed.ok) throw new Error(`listing the provider's open intents failed: ${listed.message}`);
  const ours = listed.value.filter(
    (i): i is OpenIntent & { metadata: NonNullable<OpenIntent["metadata"]> } => i.metadata !== undefined,
  );
  const fresh = nowSeconds - (options.freshSeconds ?? FRESH_SECONDS);
  const lots = new Map<string, Promise<ParkingLotState>>();
  let released = 0;
  let failed = 0;
  for (const intent of ours) {
    const { parkingLotId, reservationId } = intent.metadata;
    if (intent.status === "pending" && intent.created > fresh) continue;
    if (!lots.has(parkingLotId)) lots.set(parkingLotId, deps.lotState(parkingLotId));
    const lot = await (lots.get(parkingLotId) as Promise<ParkingLotState>);
    const awaiting = awaitingPayment(lot, reservationId);
    if (intentInUse(await deps.paymentState(parkingLotId, reservationId), awaiting, intent.intentId))
      continue;
    const key = `parking:reconcile:${intent.intentId}:void`;
    const cause = {
      correlationId: `reconcile:${intent.intentId}`,
      causationId: `reconcile:${intent.intentId}`,
    };
    const result = await releaseIntent(
      { intentId: intent.intentId, parkingLotId, reservationId },
      "reconciliation",
      key,
      deps,
      cause,
    );
    if (result === "done") released++;
    else failed++;
  }
  const lapsed = await recordLapsedHolds(deps, nowSeconds - LOOKBACK_SECONDS);
  const lotOf = (id: string) =>
    lots.get(id) ?? (lots.set(id, deps.lotState(id)).get(id) as Promise<ParkingLotState>);
  const repairs = await repairFromProvider(deps, nowSeconds - LOOKBACK_SECONDS, options.cursor, lotOf);
  const outcome = { open: ours.length, released, failed, lapsed, ...repairs };
  deps.logger.info(outcome, "reconciled the provider's open intents with the lots");
  return outcome;
}
