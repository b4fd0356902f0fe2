import { randomBytes } from "node:crypto";
import type { Document, IndexSpec, WriteOp } from "../../document-store/port.js";
import type { WebhookEventType, WebhookMessage } from "../../schemas/webhooks.js";

/**
 * The outbox of webhook deliveries, one document per message and endpoint until delivered or
 * given up, and one per attempt (what the API's deliveries page lists).
 */
export const WEBHOOK_DELIVERIES = "webhook_deliveries";
export const WEBHOOK_ATTEMPTS = "webhook_attempts";
export const DELIVERY_INDEXES: readonly IndexSpec[] = [
  { name: "by_endpoint_order", keys: { endpointId: 1, commit: 1, prepare: 1 } },
];
export const ATTEMPT_INDEXES: readonly IndexSpec[] = [{ name: "by_endpoint", keys: { endpointId: 1 } }];

export interface DeliveryDocument extends Document {
  readonly endpointId: string;
  /** The `webhook-id` header: the same on every attempt and for every endpoint. */
  readonly webhookId: string;
  readonly eventType: WebhookEventType;
  /** What log order is kept per (a reservation, a lot). */
  readonly orderKey: string;
  /** The lot the message's fact concerns, when it names one (its deliveries on its clock). */
  readonly parkingLotId?: string;
  /** Where its fact is in the log (an overstay: just after its check-in). */
  readonly commit: number;
  readonly prepare: number;
  /** The body, exactly as signed and sent on every attempt. */
  readonly payload: string;
  /** Attempts made so far. */
  readonly attempt: number;
  readonly nextAttemptAt: string;
}

export interface QueuedMessage {
  readonly webhookId: string;
  readonly message: WebhookMessage;
  readonly orderKey: string;
  readonly commit: number;
  readonly prepare: number;
}

export const deliveryId = (endpointId: string, webhookId: string): string => `${endpointId}:${webhookId}`;

/**
 * Queues a message for an endpoint. Written again (a batch handled twice, a replay of one not yet
 * sent) it changes nothing; `again` (a replay) queues it anew even if it was sent.
 */
export function enqueueOp(endpointId: string, queued: QueuedMessage, now: string, again = false): WriteOp {
  // The lot the message's fact concerns: the `parkingLotId` its data names, if any.
  const lot = (queued.message.data as { parkingLotId?: unknown }).parkingLotId;
  const fields = {
    endpointId,
    webhookId: queued.webhookId,
    eventType: queued.message.type,
    orderKey: queued.orderKey,
    ...(typeof lot === "string" ? { parkingLotId: lot } : {}),
    commit: queued.commit,
    prepare: queued.prepare,
    payload: JSON.stringify(queued.message),
  };
  return {
    op: "update",
    collection: WEBHOOK_DELIVERIES,
    id: deliveryId(endpointId, queued.webhookId),
    upsert: true,
    update: again
      ? { $set: { ...fields, attempt: 0, nextAttemptAt: now } }
      : { $setOnInsert: { ...fields, attempt: 0, nextAttemptAt: now } },
  };
}

export interface AttemptRecord {
  readonly endpointId: string;
  readonly webhookId: string;
  readonly eventType: WebhookEventType;
  readonly parkingLotId?: string;
  readonly commit: number;
  readonly at: Date;
  readonly attempt: number;
  readonly outcome: "delivered" | "failed";
  readonly statusCode?: number;
  readonly latencyMs: number;
  readonly error?: string;
}

export function attemptOp({ at, ...rest }: AttemptRecord): WriteOp {
  // Attempt ids sort by endpoint then time, so a page of one endpoint's newest is one index range.
  const id = `${rest.endpointId}:${String(at.getTime()).padStart(15, "0")}:${randomBytes(4).toString("hex")}`;
  return { op: "replace", collection: WEBHOOK_ATTEMPTS, id, document: { ...rest, at: at.toISOString() } };
}
