import { setTimeout as sleep } from "node:timers/promises";
import type { Document } from "../../document-store/port.js";
import { comparePositions, type Position } from "../../event-store/position.js";
import { systemActor } from "../../schemas/actor.js";
import { encodeEvent, type StoredDomainEvent } from "../../schemas/event-codec.js";
import type { CustomerErasedData } from "../../schemas/events.js";
import { ERASED, personalDataKeys } from "../../schemas/personal-data.js";
import { RESERVATIONS, reservationsProjection } from "../read-models/reservations.js";
import { activeGenerations, physicalCollection, readCheckpoint } from "../runtime/checkpoints.js";
import type { ReactorContext } from "../runtime/processor.js";

export const RETENTION_ACTOR = systemActor("retention");

type Erased = (typeof CustomerErasedData)["static"];

/** How long it waits for the reservations read model to reach an erasure before listing anyway. */
const AWAIT_MS = 30_000;
const POLL_MS = 50;

/**
 * Completes an erasure a command-api (no read models) could not list: lists the customer's
 * reservations from the read model once it reached the erasure, by the fact's pseudonym, and
 * appends a second erasure fact listing them, at the first one's revision (a retry appends nothing).
 */
export async function completeUnlistedErasures(
  events: readonly StoredDomainEvent[],
  context: ReactorContext,
): Promise<void> {
  for (const stored of events) {
    if (stored.event.type !== "CustomerErased") continue;
    const data = stored.event.data as Erased;
    if (data.unlisted) await completeErasure(stored, data, context);
  }
}

async function completeErasure(stored: StoredDomainEvent, data: Erased, context: ReactorContext) {
  const keys = personalDataKeys();
  if (!keys) return;
  const { collection } = await reservationsAt(context, stored.position, AWAIT_MS);
  // The customer's id as the read model still has it: the one whose pseudonym the fact records.
  const customers = await context.documentStore.countBy(
    collection,
    { customerId: { $ne: ERASED } },
    "customerId",
  );
  const customerId = [...customers.keys()].find(
    (id) => typeof id === "string" && keys.pseudonym(id) === data.subject,
  );
  if (typeof customerId !== "string") return;
  const { reservationIds, parkingLotIds } = await listReservations(context, collection, customerId);
  const { unlisted: _, ...rest } = data;
  try {
    await context.eventStore.appendToStream(
      stored.streamId,
      [
        encodeEvent(
          { type: "CustomerErased", data: { ...rest, reservationIds, parkingLotIds } },
          {
            correlationId: stored.metadata.correlationId,
            causationId: stored.id,
            actor: stored.metadata.actor ?? RETENTION_ACTOR,
          },
        ),
      ],
      { expectedRevision: stored.revision },
    );
  } catch (error) {
    if ((error as { name?: string }).name === "WrongExpectedRevisionError") return;
    throw error;
  }
  context.logger.info(
    { reservations: reservationIds.length },
    "erasure: the reservations of an unlisted erasure were listed",
  );
}

/** A customer's reservations in the reservations `collection`: their ids and their lots' (each once). */
export async function listReservations(context: ReactorContext, collection: string, customerId: string) {
  type Listed = Document & { readonly reservationId: string; readonly parkingLotId: string };
  const mine = await context.documentStore.find<Listed>(collection, { customerId });
  const reservationIds = mine.map((r) => r.reservationId);
  return { reservationIds, parkingLotIds: [...new Set(mine.map((r) => r.parkingLotId))] };
}

/** The reservations collection of the generation the projectors keep live, and that generation. */
export async function liveReservations(context: ReactorContext) {
  const generation = (await activeGenerations(context.documentStore)).get(reservationsProjection.name) ?? 1;
  return { generation, collection: physicalCollection(RESERVATIONS, generation) };
}

/**
 * The live reservations collection, once its projection has applied `position` (`applied`), or
 * after `withinMs` (not `applied`).
 */
export async function reservationsAt(
  context: ReactorContext,
  position: Position,
  withinMs: number,
): Promise<{ readonly collection: string; readonly applied: boolean }> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const { generation, collection } = await liveReservations(context);
    const checkpoint = await readCheckpoint(context.documentStore, reservationsProjection.name, generation);
    if (checkpoint?.position && comparePositions(checkpoint.position, position) >= 0)
      return { collection, applied: true };
    if (Date.now() > deadline) return { collection, applied: false };
    await sleep(POLL_MS);
  }
}
