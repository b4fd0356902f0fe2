import { Webhook } from "standardwebhooks";
import type { DocumentStore, WriteOp } from "../../document-store/port.js";
import { type OutboundAnswer, OutboundClient } from "../../platform/http/outbound.js";
import type { Logger } from "../../platform/logger.js";
import type { SecretBox } from "../../platform/secret-box.js";
import { attemptOp, type DeliveryDocument, deliveryId, WEBHOOK_DELIVERIES } from "./delivery-queue.js";
import { disableOp, type EndpointDocument, signingSecrets } from "./endpoints.js";
import { withoutPersonalValues } from "./erasure.js";
import { retryDelayMs } from "./retry-schedule.js";

export interface DeliverySettings {
  /** Opens the endpoints' sealed signing secrets. */
  readonly box: SecretBox;
  readonly allowPrivate: boolean;
  readonly timeoutMs: number;
  /** Deliveries in flight at once per endpoint. */
  readonly concurrency: number;
  /** Multiplies the retry schedule's delays (tests shrink it). */
  readonly retryScale: number;
}

/** How much of an answer is read (the rest is never waited for). */
const MAX_ANSWER_BYTES = 4096;
/** How far down an endpoint's queue a round looks for messages it may send. */
const WINDOW = 200;

type Outcome =
  | { readonly kind: "answer"; readonly answer: OutboundAnswer }
  | { readonly kind: "error"; readonly error: string; readonly latencyMs: number };

/**
 * Sends the queued deliveries: per endpoint its own queue, connections and at most `concurrency`
 * in flight (a slow endpoint holds only its own slots), log order kept per reservation. Outcomes
 * are recorded in one write per round; one not recorded when the process died is sent again (at
 * least once: receivers deduplicate by `webhook-id`).
 */
export class Dispatcher {
  private readonly inflight = new Map<string, Set<string>>();
  private readonly clients = new Map<string, OutboundClient>();
  private readonly sends = new Set<Promise<void>>();
  private pending: { ops: WriteOp[]; done: string[] }[] = [];
  private closed = false;
  private readonly aborts = new AbortController();

  constructor(
    private readonly settings: DeliverySettings,
    private readonly logger: Logger,
  ) {}

  /** One round: record the outcomes heard, then fill every enabled endpoint's free slots. */
  async round(store: DocumentStore, endpoints: readonly EndpointDocument[]): Promise<void> {
    await this.flush(store);
    for (const endpoint of endpoints) {
      if (endpoint.status !== "enabled" || this.closed) continue;
      await this.fill(store, endpoint);
    }
  }

  private async fill(store: DocumentStore, endpoint: EndpointDocument): Promise<void> {
    const inflight = this.inflightOf(endpoint._id);
    let free = this.settings.concurrency - inflight.size;
    if (free <= 0) return;
    const queue = await store.find<DeliveryDocument>(
      WEBHOOK_DELIVERIES,
      { endpointId: endpoint._id },
      { sort: { commit: 1, prepare: 1 }, limit: WINDOW },
    );
    const now = Date.now();
    const blocked = new Set<string>();
    for (const delivery of queue) {
      if (free <= 0) break;
      // An earlier message of the same reservation is still to be delivered: this one waits.
      if (blocked.has(delivery.orderKey)) continue;
      blocked.add(delivery.orderKey);
      if (inflight.has(delivery._id) || Date.parse(delivery.nextAttemptAt) > now) continue;
      inflight.add(delivery._id);
      free--;
      this.track(this.send(endpoint, delivery));
    }
  }

  private inflightOf(endpointId: string): Set<string> {
    const set = this.inflight.get(endpointId) ?? new Set<string>();
    this.inflight.set(endpointId, set);
    return set;
  }

  private clientOf(endpoint: EndpointDocument): OutboundClient {
    const { allowPrivate, timeoutMs, concurrency } = this.settings;
    const client =
      this.clients.get(endpoint._id) ??
      new OutboundClient({
        allowPrivate,
        timeoutMs,
        maxBodyBytes: MAX_ANSWER_BYTES,
        maxSockets: concurrency,
      });
    this.clients.set(endpoint._id, client);
    return client;
  }

  private track(send: Promise<void>): void {
    const settled = send.finally(() => this.sends.delete(settled));
    this.sends.add(settled);
  }

  /** One attempt: signed now by every secret that signs now (the new and, after a rotation, the old). */
  private async send(endpoint: EndpointDocument, delivery: DeliveryDocument): Promise<void> {
    const at = new Date();
    const started = performance.now();
    let outcome: Outcome;
    try {
      const signature = signingSecrets(endpoint, this.settings.box, at.getTime())
        .map((secret) => new Webhook(secret).sign(delivery.webhookId, at, delivery.payload))
        .join(" ");
      const headers = {
        "content-type": "application/json",
        "user-agent": "parking-reservations-webhooks/1",
        "webhook-id": delivery.webhookId,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": signature,
      };
      const answer = await this.clientOf(endpoint).post(
        endpoint.url,
        headers,
        delivery.payload,
        this.aborts.signal,
      );
      outcome = { kind: "answer", answer };
    } catch (error) {
      if (this.closed) return; // stopping: not an attempt; it is sent again by whoever works next
      const latencyMs = Math.round(performance.now() - started);
      outcome = { kind: "error", error: error instanceof Error ? error.message : String(error), latencyMs };
    }
    this.pending.push({ ops: this.outcomeOps(endpoint, delivery, at, outcome), done: [delivery._id] });
  }

  /** What an attempt's outcome writes: the attempt, and the delivery taken off or rescheduled. */
  private outcomeOps(
    endpoint: EndpointDocument,
    delivery: DeliveryDocument,
    at: Date,
    outcome: Outcome,
  ): WriteOp[] {
    const attempt = delivery.attempt + 1;
    const status = outcome.kind === "answer" ? outcome.answer.status : undefined;
    const delivered = status !== undefined && status >= 200 && status < 300;
    const record = {
      endpointId: endpoint._id,
      webhookId: delivery.webhookId,
      eventType: delivery.eventType,
      ...(delivery.parkingLotId !== undefined ? { parkingLotId: delivery.parkingLotId } : {}),
      commit: delivery.commit,
      at,
      attempt,
      outcome: delivered ? ("delivered" as const) : ("failed" as const),
      latencyMs: outcome.kind === "answer" ? outcome.answer.latencyMs : outcome.latencyMs,
      ...(status !== undefined ? { statusCode: status } : {}),
      ...(delivered ? {} : { error: errorText(outcome, delivery.payload) }),
    };
    const id = deliveryId(endpoint._id, delivery.webhookId);
    const done: WriteOp[] = [attemptOp(record), { op: "delete", collection: WEBHOOK_DELIVERIES, id }];
    if (delivered) return done;
    const disabled = (reason: string) => [...done, disableOp(endpoint._id, reason, at.toISOString())];
    if (status === 410) {
      this.logger.warn({ endpoint: endpoint._id }, "webhook endpoint answered 410 Gone: disabled");
      return disabled("answered 410 Gone");
    }
    const delay = retryDelayMs(attempt, this.settings.retryScale);
    if (delay === undefined) {
      this.logger.warn({ endpoint: endpoint._id, attempt }, "webhook delivery given up: endpoint disabled");
      return disabled(
        `kept failing: ${attempt} attempts of one message failed, the last: ${record.error}`.slice(0, 500),
      );
    }
    const update = { $set: { attempt, nextAttemptAt: new Date(at.getTime() + delay).toISOString() } };
    return [attemptOp(record), { op: "update", collection: WEBHOOK_DELIVERIES, id, update }];
  }

  /** Records the outcomes heard since the last round, in one write; kept for the next round if it fails. */
  async flush(store: DocumentStore): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      await store.write(batch.flatMap((b) => b.ops));
    } catch (error) {
      this.pending = [...batch, ...this.pending];
      this.logger.warn({ err: error }, "webhook outcomes not recorded yet; retried next round");
      return;
    }
    for (const id of batch.flatMap((b) => b.done)) this.inflightOf(id.slice(0, id.indexOf(":"))).delete(id);
  }

  /** Stops sending: attempts in flight are abandoned (sent again by whoever works next). */
  async close(store?: DocumentStore): Promise<void> {
    this.closed = true;
    this.aborts.abort();
    await Promise.all(this.sends);
    if (store) await this.flush(store).catch(() => undefined);
    for (const client of this.clients.values()) client.close();
  }
}

/** What an attempt that failed records: the error, or the status and the answer's start, never a personal value the message carried. */
function errorText(outcome: Outcome, payload: string): string {
  if (outcome.kind === "error") return outcome.error.slice(0, 500);
  const body = withoutPersonalValues(outcome.answer.body, payload).replace(/\s+/g, " ").trim().slice(0, 200);
  return `HTTP ${outcome.answer.status}${body ? `: ${body}` : ""}`;
}
