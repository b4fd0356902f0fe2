import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { JsonObject } from "./objects.js";

/**
 * Webhook delivery as Stripe does it: a POST of the event's JSON with
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`, retried with
 * backoff while the endpoint answers non-2xx or cannot be reached. Test controls: `delayMs`
 * before each delivery, `duplicates` extra deliveries of every event (same id), `hold` to keep
 * events back until `release()` sends them in the order asked (e.g. reversed: out of order).
 */
export interface WebhookSettings {
  url: string | null;
  secret: string;
  hold: boolean;
  delayMs: number;
  duplicates: number;
  maxAttempts: number;
  retryDelayMs: number;
}

export interface Delivery {
  readonly eventId: string;
  readonly type: string;
  readonly attempt: number;
  readonly status: number | "unreachable";
}

export function signatureHeader(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

export class WebhookSender {
  settings: WebhookSettings = {
    url: null,
    secret: "whsec_test",
    hold: false,
    delayMs: 0,
    duplicates: 0,
    maxAttempts: 6,
    retryDelayMs: 250,
  };
  private held: JsonObject[] = [];
  private readonly pending = new Set<Promise<void>>();
  readonly deliveries: Delivery[] = [];
  readonly sent: JsonObject[] = [];

  configure(settings: Partial<WebhookSettings>): WebhookSettings {
    this.settings = { ...this.settings, ...settings };
    return this.settings;
  }

  heldEvents(): JsonObject[] {
    return [...this.held];
  }

  enqueue(event: JsonObject): void {
    this.sent.push(event);
    if (!this.settings.url) return;
    if (this.settings.hold) this.held.push(event);
    else this.dispatch(event);
  }

  /** Sends what was held, in the order given ("reverse" delivers the newest first). */
  release(order: "fifo" | "reverse" = "fifo"): number {
    const events = order === "reverse" ? [...this.held].reverse() : [...this.held];
    this.held = [];
    for (const event of events) this.dispatch(event);
    return events.length;
  }

  /** Resolves once every delivery started so far has succeeded or given up (held events aside). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private dispatch(event: JsonObject): void {
    for (let copy = 0; copy <= this.settings.duplicates; copy++) {
      const delivery = this.deliver(event).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  private async deliver(event: JsonObject): Promise<void> {
    const { url, secret, delayMs, maxAttempts, retryDelayMs } = this.settings;
    if (!url) return;
    if (delayMs > 0) await sleep(delayMs);
    const payload = JSON.stringify(event, null, 2);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const status = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "stripe-signature": signatureHeader(payload, secret),
        },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      }).then(
        async (res) => {
          await res.arrayBuffer().catch(() => undefined);
          return res.status;
        },
        () => "unreachable" as const,
      );
      this.deliveries.push({ eventId: String(event.id), type: String(event.type), attempt, status });
      if (typeof status === "number" && status >= 200 && status < 300) return;
      if (attempt < maxAttempts) await sleep(retryDelayMs * 2 ** (attempt - 1));
    }
  }
}
