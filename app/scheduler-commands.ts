import { randomUUID } from "node:crypto";
import type { EventStore } from "../event-store/port.js";
import type { Logger } from "../platform/logger.js";
import type { CommandSender } from "../projections/scheduler/scheduler.js";
import { systemActor } from "../schemas/actor.js";
import { ParkingLotCommandHandler } from "../write-side/command-handler.js";

const SCHEDULER_ACTOR = systemActor("scheduler");

/**
 * The scheduler's way to the write side: its own lot command handler on the event store of the
 * process that runs the processors (small cache: it touches a lot when a fact falls due). A fact
 * is decided by the lot like any command, so a repeat appends nothing.
 */
export function schedulerCommands(
  eventStore: EventStore,
  options: {
    readonly logger: Logger;
    readonly retryLimit: number;
    /** The bound on a lot's period (LOT_PERIOD_EVENTS): the scheduler's appends close books too. */
    readonly periodEvents?: number;
  },
): CommandSender {
  const handler = new ParkingLotCommandHandler(eventStore, { cacheSize: 64, ...options });
  return async (command, cause) => {
    if (command.type === "CloseBooks") {
      const books = await handler.closeBooksIfDue(command.parkingLotId);
      return books.closed ? "recorded" : books.dueAt ? { notDueUntil: books.dueAt } : "gone";
    }
    const outcome = await handler.handle(command, {
      correlationId: cause.correlationId,
      commandId: randomUUID(),
      actor: SCHEDULER_ACTOR,
    });
    if (outcome.ok) return outcome.events.length > 0 ? "recorded" : "gone";
    if (outcome.rejection.code === "NotDue") return "not-due";
    return "gone";
  };
}
