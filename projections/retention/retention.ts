import type { Document } from "../../document-store/port.js";
import type { Position } from "../../event-store/position.js";
import type { EventType } from "../../schemas/events.js";
import { ERASED, personalDataKeys } from "../../schemas/personal-data.js";
import { CustomerErasure } from "../../write-side/customer-erasure.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";
import {
  completeUnlistedErasures,
  listReservations,
  liveReservations,
  RETENTION_ACTOR,
  reservationsAt,
} from "./erasure-listing.js";

export const RETENTION = "retention";
const DAY_MS = 86_400_000;
/** Statuses that still hold or may still hold a spot: their customer is never due. */
const ACTIVE = ["RESERVED", "CHECKED_IN"];

export interface RetentionOptions {
  /** Erase customers whose every reservation ended more than this many days ago; undefined: never. */
  readonly days: number | undefined;
  /** How often it looks (an hour by default). */
  readonly everyMs?: number;
  /** Customers erased per run at most. */
  readonly batch?: number;
}

/**
 * Retention: its tick erases the customers whose every reservation ended (`heldUntil`) more than
 * RETENTION_DAYS ago, read from the reservations read model, through the same path as `POST
 * /customers/{id}/erasure`, as the system actor `retention` (erasing twice is harmless).
 */
export function retention(options: RetentionOptions): Reactor {
  const { days } = options;
  return {
    name: RETENTION,
    // It erases on the clock, and lists the reservations of an erasure a command-api could not list.
    eventTypes: new Set<EventType>(["CustomerErased"]),
    react: completeUnlistedErasures,
    ...(days === undefined
      ? {}
      : {
          tick: {
            everyMs: options.everyMs ?? 3_600_000,
            run: (context: ReactorContext) => eraseExpired(context, days, options.batch ?? 100),
          },
        }),
  };
}

/** Customers with nothing active and nothing held since the cut-off, at most `batch`. */
export async function expiredCustomers(
  context: ReactorContext,
  days: number,
  batch: number,
): Promise<string[]> {
  const { collection } = await liveReservations(context);
  const cutoff = new Date(context.now() - days * DAY_MS).toISOString();
  const ended = await context.documentStore.find<Document & { readonly customerId: string }>(
    collection,
    { heldUntil: { $lt: cutoff }, status: { $nin: ACTIVE }, customerId: { $ne: ERASED } },
    { sort: { heldUntil: 1 }, limit: batch * 10 },
  );
  const due: string[] = [];
  for (const customerId of new Set(ended.map((r) => r.customerId))) {
    if (due.length >= batch) break;
    const kept = await context.documentStore.count(collection, {
      customerId,
      $or: [{ status: { $in: ACTIVE } }, { heldUntil: { $gte: cutoff } }],
    });
    if (kept === 0) due.push(customerId);
  }
  return due;
}

/**
 * Rounds of `batch` erasures one tick runs at most (every drive-up is a customer: a busy site ends
 * more than 100 an hour): a full round is followed by another once the read model applied it.
 */
const MOST_ROUNDS = 10;
const APPLIED_WITHIN_MS = 5_000;

async function eraseExpired(context: ReactorContext, days: number, batch: number): Promise<void> {
  const keys = personalDataKeys();
  if (!keys) return;
  const erasure = new CustomerErasure(context.eventStore, keys, async (customerId) =>
    listReservations(context, (await liveReservations(context)).collection, customerId),
  );
  for (let round = 0; round < MOST_ROUNDS; round++) {
    const due = await expiredCustomers(context, days, batch);
    let last: Position | undefined;
    for (const customerId of due) {
      ({ position: last } = await erasure.erase(customerId, {
        reason: `retention: every reservation ended more than ${days} days ago`,
        now: new Date(context.now()).toISOString(),
        causation: {
          correlationId: `retention-${context.now()}`,
          causationId: RETENTION,
          actor: RETENTION_ACTOR,
        },
      }));
      context.logger.info({ days }, "retention: a customer's personal data was erased");
    }
    if (due.length < batch || !last || !(await reservationsAt(context, last, APPLIED_WITHIN_MS)).applied)
      return;
  }
}
