import type { EventStore } from "../event-store/port.js";
import { systemActor } from "../schemas/actor.js";
import type { ParkingLotCommand } from "../schemas/commands.js";
import { type CommandOutcome, ParkingLotCommandHandler } from "../write-side/command-handler.js";
import type { SettleBooking } from "../write-side/payment/payment-process.js";

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
