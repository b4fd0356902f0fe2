import type { AuthorizePayment } from "../../schemas/commands.js";
import type { EventOfType } from "../../schemas/events.js";
import type { OpenPayment as Payment, PaymentDecision, PaymentEvent, PaymentState } from "./payment-facts.js";

/**
 * A booking whose stay ends beyond a card hold's lifetime is confirmed on its card saved for later
 * (status `saved`, nothing held), and held off-session before the stay (holdPlanOf), a new intent.
 */

/** Whether the payment confirmed its booking: authorized, or its card saved (for a hold maybe waiting). */
export const confirmed = (state: Payment): boolean => state.status === "authorized" || awaitsHold(state);

/** Whether `intentId` is the hold its customer may still complete (reconciliation must leave it open). */
export const awaitedHold = (state: PaymentState, intentId: string): boolean =>
  state.kind === "open" &&
  state.status === "action-required" &&
  !state.settled &&
  state.action?.intentId === intentId;

/** Whether saving the card itself waits for its customer (a PaymentActionRequired with `authorizeAt`). */
const savingAsked = (state: Payment): boolean =>
  state.status === "action-required" && state.intentId === undefined;

/**
 * Whether the booking waits for its hold before the stay: its card saved, or that hold asked for its
 * customer (`action-required`), who may complete `action.intentId` until its deadline.
 */
export const awaitsHold = (state: Payment): boolean =>
  state.status === "saved" || state.status === "action-required";

/** A pending booking's card saved, or (`actionDeadline`) saving it asks for the customer until then. */
export function saving(
  command: AuthorizePayment,
  data: Omit<EventOfType<"PaymentCardSaved">["data"], "authorizeAt" | "savedAt">,
  authorizeAt: string,
): PaymentEvent {
  const { now, actionDeadline } = command;
  if (actionDeadline === undefined)
    return { type: "PaymentCardSaved", data: { ...data, ...methodOf(command), authorizeAt, savedAt: now } };
  const { customerId: _c, booking: _b, ...ids } = data;
  const fact = { ...ids, deadline: actionDeadline, actionRequiredAt: now, authorizeAt };
  return { type: "PaymentActionRequired", data: fact };
}

/** The card a SetupIntent saved, as its webhook names it. */
const methodOf = (command: AuthorizePayment) =>
  command.paymentMethod !== undefined ? { method: command.paymentMethod } : {};

/**
 * The saved card's facts folded. PaymentCardSaved: confirmed, nothing held, `amount` to hold at
 * `authorizeAt`. PaymentActionRequired: its hold, or saving the card (`authorizeAt`), waits for its customer.
 */
export function savedCardFact(
  open: Payment,
  { type, data }: EventOfType<"PaymentCardSaved" | "PaymentActionRequired">,
): Payment {
  if (type === "PaymentCardSaved") {
    if (open.status !== "pending" && !savingAsked(open)) return open;
    const saved = { amount: data.amount, authorizeAt: data.authorizeAt };
    return {
      ...open,
      status: "saved",
      intentId: data.intentId,
      currency: data.currency,
      saved,
      action: undefined,
    };
  }
  const action = { intentId: data.intentId, deadline: data.deadline };
  if (open.status === "saved") return { ...open, status: "action-required", action };
  // Saving the card asked for its customer (`authorizeAt`): the booking is confirmed, nothing saved yet.
  if (open.status !== "pending" || data.authorizeAt === undefined) return open;
  const saved = { amount: data.amount, authorizeAt: data.authorizeAt };
  return { ...open, status: "action-required", currency: data.currency, saved, action };
}

/**
 * The hold made off-session before the stay: a new intent for at least what the booking is to hold,
 * in its currency. A second card saved records nothing; a hold that asks for its customer is
 * recorded once, then only that intent's authorization is taken.
 */
export function authorizeSaved(
  state: Payment,
  command: AuthorizePayment,
  /** Whose booking it is (PaymentAuthorized seals its personal fields under the customer). */
  booking: Pick<EventOfType<"PaymentAuthorized">["data"], "customerId" | "booking"> = {},
): PaymentDecision {
  const { parkingLotId, reservationId, intentId, amount, currency, authorizeAt, actionDeadline, now } =
    command;
  const asked = state.status === "action-required";
  const setup = savingAsked(state); // the customer completed saving the card (its SetupIntent's webhook)
  if (
    setup
      ? actionDeadline !== undefined
      : authorizeAt !== undefined || (asked && actionDeadline !== undefined)
  )
    return { ok: true, events: [] };
  // Its booking ended meanwhile (its settlement decided): the hold is refused, and so released.
  if (state.settled)
    return { ok: false, rejection: { code: "PaymentNotPending", parkingLotId, reservationId } };
  const short = amount < (state.saved?.amount ?? 0);
  const other = asked && intentId !== state.action?.intentId;
  const reason = other ? "intent" : currency !== state.currency ? "currency" : short ? "amount" : undefined;
  if (reason)
    return { ok: false, rejection: { code: "PaymentMismatch", parkingLotId, reservationId, reason } };
  const ids = { reservationId, parkingLotId, intentId, amount, currency };
  const holdAt = state.saved?.authorizeAt ?? now;
  if (setup) {
    const data = { ...ids, ...booking, ...methodOf(command), authorizeAt: holdAt, savedAt: now };
    return { ok: true, events: [{ type: "PaymentCardSaved", data }] };
  }
  if (actionDeadline !== undefined)
    return {
      ok: true,
      events: [
        { type: "PaymentActionRequired", data: { ...ids, deadline: actionDeadline, actionRequiredAt: now } },
      ],
    };
  const data = { ...ids, ...booking, authorizedAt: now };
  return { ok: true, events: [{ type: "PaymentAuthorized", data }] };
}
