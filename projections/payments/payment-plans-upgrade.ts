import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import { dueAtOp } from "./payment-due.js";
import { forgetAtOp, PAYMENT_METHODS, type PendingEnd } from "./payment-inbox.js";
import type { PaymentCommandSender } from "./step-common.js";

/**
 * The one-time upgrade from the plans older versions queued (`payment_plans`): each becomes what
 * today's process keeps, continued with the same idempotency keys (they derive from the same facts'
 * ids) at its time and attempt; then the collection is dropped. Idempotent: a rerun after a crash
 * finds what is left, and a request recorded twice records once.
 */
export const PAYMENT_PLANS = "payment_plans";

/** A plan as an older version stored it: what the upgrade reads of it. */
interface OldPlan extends Document {
  readonly _id: string;
  readonly kind: string;
  readonly eventId: string;
  readonly correlationId: string;
  readonly reservationId: string;
  readonly parkingLotId: string;
  readonly currency: string;
  readonly nextAttemptAt: string;
  readonly attempt: number;
  readonly amount?: number;
  readonly method?: string;
  readonly customer?: string;
  readonly authorizeAt?: string;
  readonly end?: PendingEnd["end"];
  readonly endedAt?: string;
}

/**
 * What a plan becomes: a settle or hold plan, its booking's due entry (a settle plan's saved method,
 * which it had taken over, kept again for its off-session steps); an authorize plan, its booking's
 * request on its payment's stream (PaymentRequested, keyed by the same lot fact) and due entry; an
 * end or void plan, its booking's end on its due entry; a forget plan, its provider customer marked.
 */
async function upgradeOne(plan: OldPlan, send: PaymentCommandSender): Promise<WriteOp[]> {
  const { reservationId: id, nextAttemptAt: at, attempt } = plan;
  switch (plan.kind) {
    case "settle":
    case "hold": {
      const { method, customer } = plan;
      const saved = { method, ...(customer ? { customer } : {}) };
      const keep = plan.kind === "settle" && method;
      return [
        dueAtOp(id, at, attempt),
        ...(keep ? [{ op: "replace" as const, collection: PAYMENT_METHODS, id, document: saved }] : []),
      ];
    }
    case "authorize":
      return (await requested(plan, send)) ? [dueAtOp(id, at, attempt)] : [];
    case "end":
    case "void": {
      const end = plan.kind === "end" && plan.end ? plan.end : ({ because: "operator-cancel" } as const);
      const { eventId, correlationId, parkingLotId } = plan;
      const endedAt = plan.endedAt ? { endedAt: plan.endedAt } : {};
      const ended = { eventId, correlationId, reservationId: id, parkingLotId, end, ...endedAt };
      return [dueAtOp(id, at, attempt, ended)];
    }
    case "forget":
      return plan.customer ? [forgetAtOp(plan.customer, at, attempt)] : [];
    default:
      return [];
  }
}

/** An authorize plan's request recorded on its payment's stream (refused: its booking is gone, nothing to do). */
async function requested(plan: OldPlan, send: PaymentCommandSender): Promise<boolean> {
  const { reservationId, parkingLotId, eventId: requestedBy, currency, method, customer, authorizeAt } = plan;
  const command = {
    type: "RequestPayment" as const,
    reservationId,
    parkingLotId,
    requestedBy,
    amount: plan.amount ?? 0,
    currency,
    ...(method ? { method } : {}),
    ...(customer ? { customer, ...(authorizeAt ? { authorizeAt } : {}) } : {}),
    now: new Date().toISOString(),
  };
  const sent = await send(command, { correlationId: plan.correlationId, causationId: requestedBy });
  return sent.ok;
}

/** Every plan left turned into what today's process keeps, then the collection dropped. Answers how many. */
export async function plansToDue(store: DocumentStore, send: PaymentCommandSender): Promise<number> {
  if (!(await store.listCollections()).includes(PAYMENT_PLANS)) return 0;
  const old = await store.find<OldPlan>(PAYMENT_PLANS, {}, { limit: 1000 });
  // A booking with two plans (its hold, then its settlement) is due at the earlier: written last.
  old.sort((a, b) => b.nextAttemptAt.localeCompare(a.nextAttemptAt));
  for (const plan of old) {
    const ops = await upgradeOne(plan, send);
    await store.write([...ops, { op: "delete", collection: PAYMENT_PLANS, id: plan._id }]);
  }
  if (old.length === 1000) return old.length + (await plansToDue(store, send));
  await store.dropCollection(PAYMENT_PLANS);
  return old.length;
}
