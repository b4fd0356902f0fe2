import { join } from "node:path";
import { SqliteEventStore } from "../event-store/embedded/sqlite-event-store.js";
import type { EventStore } from "../event-store/port.js";
import { readPaymentProcess } from "../projections/payments/payment-due.js";
import type { PaymentProvider } from "../projections/payments/provider.js";
import type { PaymentCommandSender, StepDeps } from "../projections/payments/step-common.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import type { PaymentTerms } from "../schemas/common.js";
import { stampOf } from "../schemas/event-stamps.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "../write-side/command-handler.js";
import type { ParkingLotEvent } from "../write-side/parking-lot/decider.js";
import { bookingEndOf } from "../write-side/payment/lot-booking.js";
import type { SettleBooking } from "../write-side/payment/payment-process.js";
import { tempDataDir } from "./service.js";

/**
 * The lot's command handler with payments on (a hold of ten minutes), and what the payment tests
 * drive it with: a command context per role, a run that throws on a refusal, and the log's event
 * types by stream.
 */
export const paidLotHandler = (store: EventStore, cacheSize = 16): ParkingLotCommandHandler =>
  new ParkingLotCommandHandler(store, {
    retryLimit: 5,
    cacheSize,
    payments: { on: true, holdSeconds: 600 },
  });

/** The payment terms most payment tests book under: KRW, a 10,000 deposit, 50% inside the last hour, a 3,000 no-show fee. */
export const KRW_TERMS: PaymentTerms = {
  currency: "KRW",
  deposit: 10_000,
  cancellation: { freeUntilMinutesBefore: 60, feePercent: 50 },
  noShowFee: 3000,
};

let sent = 0;

/** A fresh command's context, sent by the payments process (system), an operator or a customer. */
export const commandContext = (role: "operator" | "customer" | "system" = "system") => {
  sent++;
  const actor = role === "system" ? systemActor("payments") : { sub: `${role}-1`, role };
  return { correlationId: `corr-${sent}`, commandId: `cmd-${sent}`, actor };
};

/** The command run as the payments process; the types of the events it appended, or it throws. */
export async function runAccepted(
  handler: ParkingLotCommandHandler,
  command: ParkingLotCommand | SettleBooking,
): Promise<string[]> {
  const outcome: CommandOutcome = await handler.handle(command, commandContext());
  if (!outcome.ok) throw new Error(`${command.type} refused: ${JSON.stringify(outcome.rejection)}`);
  return outcome.events.map((e) => e.type);
}

/** Every stream's event types, in order. */
export async function typesByStream(store: EventStore): Promise<Map<string, string[]>> {
  const streams = new Map<string, string[]>();
  for await (const recorded of store.readAll()) {
    streams.set(recorded.streamId, [...(streams.get(recorded.streamId) ?? []), recorded.type]);
  }
  return streams;
}

type Appended = Extract<CommandOutcome, { ok: true }>["events"];

/**
 * Issue 68: a lot command appends to the lot's stream only; the payments process manager then asks
 * for the settlement of each paid booking it ended, as it follows the end event (the end as the
 * lot's event says it, as of the event, projections/payments/payment-saga.ts). The command, then
 * those settlements: the events of both, in order; it throws on a refusal.
 */
export async function runThenSettle(
  handler: ParkingLotCommandHandler,
  command: ParkingLotCommand | SettleBooking,
  context = commandContext(),
): Promise<Appended> {
  const outcome = await handler.handle(command, context);
  if (!outcome.ok) throw new Error(`${command.type} refused: ${JSON.stringify(outcome.rejection)}`);
  const events = [...outcome.events];
  for (const event of outcome.events) {
    const end = bookingEndOf(event as ParkingLotEvent, context.actor.role);
    const { reservationId, parkingLotId } = event.data as { reservationId: string; parkingLotId: string };
    if (!end) continue;
    const now = stampOf(event as ParkingLotEvent);
    const settled = await handler.handle(
      { type: "SettleBooking", parkingLotId, reservationId, end, now },
      context,
    );
    if (settled.ok) events.push(...settled.events);
  }
  return events;
}

/** runThenSettle's event types. */
export const runSettled = async (
  handler: ParkingLotCommandHandler,
  command: ParkingLotCommand | SettleBooking,
): Promise<string[]> => (await runThenSettle(handler, command)).map((e) => e.type);

/**
 * A lot with payments on (6,000 an hour, ten spots), registered at `now` with `terms` if given, in
 * a fresh DATA_DIR's event store: where the payment int tests start. `close` removes it all.
 */
export async function paidLotIn(
  prefix: string,
  lot: {
    readonly parkingLotId: string;
    readonly name: string;
    readonly now: string;
    readonly terms?: PaymentTerms;
  },
) {
  const data = tempDataDir(prefix);
  const store = SqliteEventStore.open({ file: join(data.dir, "events.sqlite"), pollIntervalMs: 20 });
  const handler = paidLotHandler(store);
  const { parkingLotId, name, now, terms } = lot;
  await runAccepted(handler, {
    type: "RegisterParkingLot",
    parkingLotId,
    name,
    capacity: 10,
    hourlyRate: 6000,
    now,
  });
  if (terms) await runAccepted(handler, { type: "ChangePaymentTerms", parkingLotId, terms, now });
  const close = async () => {
    await store.close();
    data.remove();
  };
  return { dir: data.dir, store, handler, close };
}

/** The payments process's way to the lot (as app/payment-commands.ts wires it), over `handler`. */
export const senderVia =
  (handler: ParkingLotCommandHandler): PaymentCommandSender =>
  async (command, cause) => {
    const outcome = await handler.handle(command, { ...commandContext(), ...cause });
    return outcome.ok
      ? { ok: true, recorded: outcome.events.length > 0 }
      : { ok: false, code: outcome.rejection.code };
  };

/**
 * What the payment steps run on in a test against a provider (the stand-in, or a fake): the lot's
 * handler and its store, the client secrets and provider customers kept in the test's own maps.
 */
export const stepDepsOn = (
  on: {
    readonly handler: ParkingLotCommandHandler;
    readonly store: EventStore;
    readonly provider: PaymentProvider;
    readonly secrets: Map<string, string>;
    readonly customers: Map<string, string>;
  },
  now: string,
): StepDeps => {
  const { handler, store, secrets, customers } = on;
  return {
    provider: on.provider,
    send: senderVia(handler),
    logger: { debug() {}, info() {}, warn() {}, error() {} } as never,
    now: () => now,
    keepClientSecret: async (plan, secret) => {
      secrets.set(plan.reservationId, secret);
    },
    lotState: (id) => handler.stateOf(id),
    paymentProcess: (reservationId) => readPaymentProcess(store, reservationId),
    oldSavedMethod: async () => undefined,
    customers: {
      get: async (ref) => customers.get(ref),
      keep: async (ref, id) => {
        customers.set(ref, id);
      },
      drop: async (ref) => {
        customers.delete(ref);
      },
    },
  };
};
