import { randomBytes } from "node:crypto";
import type { Document, DocumentStore, WriteOp } from "../../document-store/port.js";
import type { SecretBox } from "../../platform/secret-box.js";
import type { WebhookEndpointView, WebhookEventType } from "../../schemas/webhooks.js";
import { WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES } from "./delivery-queue.js";

/** Documents deleted per write when an endpoint goes. */
const PURGE_PAGE = 500;

/**
 * The webhook endpoints operators register (configuration, not facts). Signing secrets are stored
 * sealed (SecretBox: a dump of the store reveals none) and shown once; a rotated one keeps signing
 * beside the new one for ROTATION_OVERLAP_MS, so receivers can switch without missing a message.
 */
export const WEBHOOK_ENDPOINTS = "webhook_endpoints";
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export interface SealedSecret {
  readonly sealed: string;
  /** Absent: the current secret; else when it stops signing. */
  readonly expiresAt?: string;
}

export interface EndpointDocument extends Document {
  readonly url: string;
  readonly eventTypes: readonly WebhookEventType[];
  readonly description: string;
  readonly status: "enabled" | "disabled";
  readonly disabledReason?: string;
  readonly disabledAt?: string;
  readonly createdAt: string;
  readonly secretRotatedAt?: string;
  readonly secrets: readonly SealedSecret[];
}

/** A new signing secret in Standard Webhooks' form: `whsec_` and 24 random bytes in base64. */
export const newSecret = (): string => `whsec_${randomBytes(24).toString("base64")}`;

const newEndpointId = (): string => `we_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;

/** What the API shows of an endpoint: never its secrets. */
export function endpointView(doc: EndpointDocument, pending: number): WebhookEndpointView {
  return {
    id: doc._id,
    url: doc.url,
    eventTypes: [...doc.eventTypes],
    description: doc.description,
    status: doc.status,
    ...(doc.disabledReason ? { disabledReason: doc.disabledReason } : {}),
    ...(doc.disabledAt ? { disabledAt: doc.disabledAt } : {}),
    createdAt: doc.createdAt,
    ...(doc.secretRotatedAt ? { secretRotatedAt: doc.secretRotatedAt } : {}),
    pending,
  };
}

/** The secrets that sign now: the current one, and a rotated one until it expires. */
export function signingSecrets(doc: EndpointDocument, box: SecretBox, now: number): string[] {
  return doc.secrets
    .filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now)
    .map((s) => box.open(s.sealed));
}

export interface NewEndpoint {
  readonly url: string;
  readonly eventTypes: readonly WebhookEventType[];
  readonly description?: string;
}

/** The endpoints' document-store side: what the API and the delivery reactor read and write. */
export class WebhookEndpoints {
  constructor(
    private readonly store: DocumentStore,
    private readonly box: SecretBox,
  ) {}

  list(limit: number): Promise<EndpointDocument[]> {
    return this.store.find<EndpointDocument>(WEBHOOK_ENDPOINTS, {}, { sort: { _id: 1 }, limit });
  }

  get(id: string): Promise<EndpointDocument | null> {
    return this.store.findById<EndpointDocument>(WEBHOOK_ENDPOINTS, id);
  }

  async create(endpoint: NewEndpoint, now: Date): Promise<{ doc: EndpointDocument; secret: string }> {
    const secret = newSecret();
    const doc: EndpointDocument = {
      _id: newEndpointId(),
      url: endpoint.url,
      eventTypes: [...endpoint.eventTypes],
      description: endpoint.description ?? "",
      status: "enabled",
      createdAt: now.toISOString(),
      secrets: [{ sealed: this.box.seal(secret) }],
    };
    await this.store.write([{ op: "replace", collection: WEBHOOK_ENDPOINTS, id: doc._id, document: doc }]);
    return { doc, secret };
  }

  /** A new current secret; the one before keeps signing for ROTATION_OVERLAP_MS (older ones stop). */
  async rotate(doc: EndpointDocument, now: Date): Promise<{ secret: string; previousExpiresAt: string }> {
    const secret = newSecret();
    const previousExpiresAt = new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString();
    const current = doc.secrets.find((s) => s.expiresAt === undefined);
    const secrets: SealedSecret[] = [
      { sealed: this.box.seal(secret) },
      ...(current ? [{ sealed: current.sealed, expiresAt: previousExpiresAt }] : []),
    ];
    await this.store.write([
      {
        op: "update",
        collection: WEBHOOK_ENDPOINTS,
        id: doc._id,
        update: { $set: { secrets, secretRotatedAt: now.toISOString() } },
        // Two rotations at once: the second is refused rather than losing the first's secret.
        if: { secretRotatedAt: doc.secretRotatedAt ?? { $exists: false } },
      },
    ]);
    return { secret, previousExpiresAt };
  }

  /** Deletes the endpoint, then its queued messages (personal, never to be sent) and attempts, a page at a time. */
  async delete(id: string): Promise<void> {
    await this.store.write([{ op: "delete", collection: WEBHOOK_ENDPOINTS, id }]);
    for (const collection of [WEBHOOK_DELIVERIES, WEBHOOK_ATTEMPTS]) {
      for (;;) {
        const page = await this.store.find(collection, { endpointId: id }, { limit: PURGE_PAGE });
        if (page.length === 0) break;
        await this.store.write(page.map((doc) => ({ op: "delete", collection, id: doc._id }) as const));
      }
    }
  }
}

/** The write that stops sending to an endpoint, saying why. */
export const disableOp = (id: string, reason: string, at: string): WriteOp => ({
  op: "update",
  collection: WEBHOOK_ENDPOINTS,
  id,
  update: { $set: { status: "disabled", disabledReason: reason, disabledAt: at } },
});
