import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import { ERASED } from "../../schemas/personal-data.js";
import { type DeliveryDocument, WEBHOOK_DELIVERIES } from "./delivery-queue.js";

/** The personal fields a webhook message's data may carry (the events' `Personal` fields). */
const PERSONAL = ["customerId", "carNumber"] as const;

/** The reservations the erasure facts among `events` list. */
export const erasedReservations = (events: readonly StoredDomainEvent[]): Set<string> =>
  new Set(
    events.flatMap((stored) =>
      stored.event.type === "CustomerErased" ? stored.event.data.reservationIds : [],
    ),
  );

/**
 * An erasure reaches the outbox: a message queued before it holds the customer's id in clear, so
 * its queued deliveries get `erased` in those fields (signed afresh on the next attempt, same
 * `webhook-id`), and the reservation's overstay watch forgets the customer.
 */
export async function erasureOps(
  erased: ReadonlySet<string>,
  store: DocumentStore,
  /** The overstay watches' collection (delivery-reactor.ts). */
  overstays: string,
): Promise<WriteOp[]> {
  if (erased.size === 0) return [];
  const reservationIds = [...erased];
  const ops: WriteOp[] = [];
  const queued = await store.find<DeliveryDocument>(WEBHOOK_DELIVERIES, {
    orderKey: { $in: reservationIds },
  });
  for (const delivery of queued) {
    const payload = redacted(delivery.payload);
    if (payload !== delivery.payload)
      ops.push({
        op: "update",
        collection: WEBHOOK_DELIVERIES,
        id: delivery._id,
        update: { $set: { payload } },
      });
  }
  // Every listed one, a watch laid in this very batch too (an update of none changes nothing).
  for (const id of reservationIds)
    ops.push({ op: "update", collection: overstays, id, update: { $set: { customerId: ERASED } } });
  return ops;
}

/** A message with its data's personal fields `erased` (queued in the batch of its erasure). */
export function redactedMessage<M extends { readonly data: object }>(message: M): M {
  return JSON.parse(redacted(JSON.stringify(message))) as M;
}

/** The payload with its data's personal fields `erased` (the same string when it has none). */
function redacted(payload: string): string {
  const message = JSON.parse(payload) as { data?: Record<string, unknown> };
  const data = message.data;
  if (!data || !PERSONAL.some((field) => typeof data[field] === "string" && data[field] !== ERASED))
    return payload;
  const erased = { ...data };
  for (const field of PERSONAL) if (typeof erased[field] === "string") erased[field] = ERASED;
  return JSON.stringify({ ...message, data: erased });
}

/**
 * An endpoint's answer to a failed attempt without the message's personal values (an attempt's
 * record outlives any erasure): each as sent, as a URL or JSON's \u escapes write it.
 */
export function withoutPersonalValues(text: string, payload: string): string {
  const data = (JSON.parse(payload) as { data?: Record<string, unknown> }).data ?? {};
  let kept = text;
  for (const field of PERSONAL) {
    const value = data[field];
    if (typeof value !== "string" || value === "" || value === ERASED) continue;
    // JSON escapes each UTF-16 unit past ASCII (a pair for a character beyond the BMP).
    const escaped = (upper: boolean) =>
      value
        .split("")
        .map((unit) => {
          if (unit.charCodeAt(0) < 128) return unit;
          const hex = unit.charCodeAt(0).toString(16).padStart(4, "0");
          return `\\u${upper ? hex.toUpperCase() : hex}`;
        })
        .join("");
    for (const form of new Set([value, encodeURIComponent(value), escaped(false), escaped(true)]))
      kept = kept.split(form).join(ERASED);
  }
  return kept;
}
