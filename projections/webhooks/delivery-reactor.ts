import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { StoredDomainEvent } from "../../schemas/event-codec.js";
import type { EventType } from "../../schemas/events.js";
import type { WebhookEventType } from "../../schemas/webhooks.js";
import type { Reactor, ReactorContext } from "../runtime/processor.js";
import {
  ATTEMPT_INDEXES,
  DELIVERY_INDEXES,
  enqueueOp,
  type QueuedMessage,
  WEBHOOK_ATTEMPTS,
  WEBHOOK_DELIVERIES,
} from "./delivery-queue.js";
import { type DeliverySettings, Dispatcher } from "./dispatcher.js";
import { type EndpointDocument, WEBHOOK_ENDPOINTS } from "./endpoints.js";
import { erasedReservations, erasureOps, redactedMessage } from "./erasure.js";
import { MAPPED_EVENT_TYPES, messagesOf, overstayMessage, queuedAt } from "./messages.js";

export const WEBHOOK_DELIVERY = "webhook-delivery";
/** The cars checked in whose window has yet to end: where the overstay messages come from. */
export const WEBHOOK_OVERSTAYS = "webhook_overstays";
const OVERSTAY_INDEXES = [{ name: "by_due", keys: { checkedIn: 1, endsAt: 1 } }] as const;
/** How often the deliveries are looked at (and outcomes recorded). */
const ROUND_MS = 50;
/** How long the endpoints read are used by the clock work. */
const ENDPOINTS_TTL_MS = 200;
const MAX_ENDPOINTS = 1000;

interface Overstay extends Document {
  readonly parkingLotId: string;
  readonly customerId: string;
  readonly endsAt: string;
  readonly checkedIn?: boolean;
  readonly checkedInAt?: string;
  readonly commit?: number;
  readonly prepare?: number;
}

/** Whether an endpoint is enabled and subscribes to the type. */
const subscribes = (endpoint: EndpointDocument, type: WebhookEventType): boolean =>
  endpoint.status === "enabled" && endpoint.eventTypes.includes(type);

/** An endpoint hears an event if it subscribes to its type and existed when it was recorded. */
const hears = (endpoint: EndpointDocument, type: WebhookEventType, recordedAt: Date): boolean =>
  subscribes(endpoint, type) && Date.parse(endpoint.createdAt) <= recordedAt.getTime();

/** What one event does to the overstay watch: a window booked is watched, a check-in arms it, its end drops it. */
function overstayOps(stored: StoredDomainEvent, watching: boolean): WriteOp[] {
  const { event, position } = stored;
  switch (event.type) {
    case "ParkingReserved": {
      const { reservationId, parkingLotId, customerId, endsAt } = event.data;
      if (!watching || endsAt === undefined) return [];
      const document = { parkingLotId, customerId, endsAt };
      return [{ op: "replace", collection: WEBHOOK_OVERSTAYS, id: reservationId, document }];
    }
    case "ReservationCheckedIn": {
      const { reservationId, checkedInAt } = event.data;
      const $set = { checkedIn: true, checkedInAt, commit: position.commit, prepare: position.prepare };
      return [{ op: "update", collection: WEBHOOK_OVERSTAYS, id: reservationId, update: { $set } }];
    }
    case "ReservationCheckedOut":
    case "ReservationCanceled":
    case "ReservationNoShow":
      return [{ op: "delete", collection: WEBHOOK_OVERSTAYS, id: event.data.reservationId }];
    default:
      return [];
  }
}

/**
 * The webhook delivery reactor queues one delivery per message and subscribed endpoint, in the
 * write of its checkpoint (a kill -9 loses nothing, queues nothing twice). Its clock work, in the
 * lease holder only, sends them (Dispatcher) and queues an overstay once per car still in when
 * its window ends (the watch is taken off in the same write).
 */
export function webhookDelivery(settings: DeliverySettings | undefined): Reactor {
  let endpoints: { at: number; list: EndpointDocument[] } | undefined;
  let dispatcher: Dispatcher | undefined;
  let store: DocumentStore | undefined;
  /** The endpoints as read after `since` (an endpoint created before an event was recorded is among them). */
  const endpointsOf = async (context: ReactorContext, since: number) => {
    if (!endpoints || endpoints.at <= since) {
      const at = Date.now();
      endpoints = {
        at,
        list: await context.documentStore.find(WEBHOOK_ENDPOINTS, {}, { limit: MAX_ENDPOINTS }),
      };
    }
    return endpoints.list;
  };
  return {
    name: WEBHOOK_DELIVERY,
    eventTypes: new Set<EventType>([...MAPPED_EVENT_TYPES, "CustomerErased"]),
    collections: {
      [WEBHOOK_DELIVERIES]: DELIVERY_INDEXES,
      [WEBHOOK_ATTEMPTS]: ATTEMPT_INDEXES,
      [WEBHOOK_OVERSTAYS]: OVERSTAY_INDEXES,
    },
    async react(events, context) {
      // A batch with none of its events (the runtime may call it so) queues nothing.
      if (events.length === 0) return [];
      // An erasure: what is queued for its customer's reservations forgets them (written last).
      const erased = erasedReservations(events);
      const erasing = await erasureOps(erased, context.documentStore, WEBHOOK_OVERSTAYS);
      // Read after the newest event was recorded: every endpoint created before it is in the list.
      const newest = Math.max(...events.map((e) => e.createdAt.getTime()));
      const list = await endpointsOf(context, newest);
      if (list.length === 0) return erasing;
      // Whether it keeps the windows of reservations (some endpoint wants overstays).
      const watching = list.some((e) => subscribes(e, "reservation.overstaying"));
      const now = new Date().toISOString();
      const ops: WriteOp[] = [];
      for (const stored of events) {
        ops.push(...overstayOps(stored, watching));
        for (const mapped of messagesOf(stored)) {
          const message = erased.has(mapped.orderKey) ? redactedMessage(mapped.message) : mapped.message;
          const queued = { ...queuedAt(stored.id, mapped, stored.position), message };
          for (const endpoint of list)
            if (hears(endpoint, mapped.message.type, stored.createdAt))
              ops.push(enqueueOp(endpoint._id, queued, now));
        }
      }
      return [...ops, ...erasing];
    },
    ...(settings
      ? {
          tick: {
            everyMs: ROUND_MS,
            async run(context: ReactorContext) {
              store = context.documentStore;
              dispatcher ??= new Dispatcher(settings, context.logger);
              const list = await endpointsOf(context, Date.now() - ENDPOINTS_TTL_MS);
              await queueOverstays(context, list);
              await dispatcher.round(context.documentStore, list);
            },
          },
          async close() {
            await dispatcher?.close(store);
            dispatcher = undefined;
          },
        }
      : {}),
  };
}

/** Queues the overstay of every watched car whose window has ended by now, and stops watching it. */
async function queueOverstays(
  context: ReactorContext,
  endpoints: readonly EndpointDocument[],
): Promise<void> {
  const now = new Date(context.now()).toISOString();
  const due = await context.documentStore.find<Overstay>(
    WEBHOOK_OVERSTAYS,
    { checkedIn: true, endsAt: { $lte: now } },
    { sort: { endsAt: 1 }, limit: 100 },
  );
  if (due.length === 0) return;
  const queuedAt = new Date().toISOString();
  const ops: WriteOp[] = [];
  for (const car of due) {
    const message = overstayMessage({
      reservationId: car._id,
      parkingLotId: car.parkingLotId,
      customerId: car.customerId,
      endsAt: car.endsAt,
      checkedInAt: car.checkedInAt ?? car.endsAt,
    });
    // Just after its check-in in log order (before anything later of the same reservation).
    const queued: QueuedMessage = {
      webhookId: `msg_overstay_${car._id}`,
      message,
      orderKey: car._id,
      commit: car.commit ?? 0,
      prepare: (car.prepare ?? 0) + 0.5,
    };
    for (const endpoint of endpoints)
      if (subscribes(endpoint, "reservation.overstaying"))
        ops.push(enqueueOp(endpoint._id, queued, queuedAt));
    ops.push({ op: "delete", collection: WEBHOOK_OVERSTAYS, id: car._id });
  }
  await context.documentStore.write(ops);
}
