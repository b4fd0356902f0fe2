import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Ledger } from "./ledger.js";
import type { JsonObject } from "./objects.js";
import type { Outage, RequestRecord, StripeServer, Violation } from "./server.js";
import type { Delivery, WebhookSettings } from "./webhooks.js";

/**
 * The test controls over HTTP, on a port of their own that stays up through outages, for a
 * server run as a child process (cli.ts): `RemoteStripeServer` speaks to it.
 *
 *   GET  /violations /requests /ledger /events /deliveries /held
 *   POST /outage {outage}  /response-delay {ms}  /webhooks {settings}  /webhooks/release {order}
 *   POST /webhooks/idle (answers once deliveries in flight are done)
 *   POST /answers/hold {hold}  /answers/release  /intents/authenticate {intent}  /clock/advance {ms}
 *   POST /payment-methods {card}
 */
export async function serveControls(stripe: StripeServer, port = 0): Promise<Server> {
  const reads: Record<string, () => unknown> = {
    "/violations": () => stripe.violations(),
    "/requests": () => stripe.requests(),
    "/ledger": () => ({ ...stripe.ledger(), problems: stripe.ledgerProblems() }),
    "/events": () => stripe.sentEvents(),
    "/deliveries": () => stripe.deliveries(),
    "/held": () => stripe.webhooks.heldEvents(),
  };
  const writes: Record<string, (body: Record<string, unknown>) => Promise<unknown> | unknown> = {
    "/outage": (body) => stripe.setOutage(body.outage as Outage),
    "/response-delay": (body) => stripe.setResponseDelay(Number(body.ms)),
    "/webhooks": (body) => stripe.configureWebhooks(body as Partial<WebhookSettings>),
    "/webhooks/release": (body) => stripe.webhooks.release(body.order === "reverse" ? "reverse" : "fifo"),
    "/webhooks/idle": () => stripe.webhooks.idle(),
    "/answers/hold": (body) => stripe.holdAnswers(body.hold === true),
    "/answers/release": () => stripe.releaseAnswers(),
    "/intents/authenticate": (body) => stripe.authenticate(String(body.intent)),
    "/clock/advance": (body) => stripe.advanceClock(Number(body.ms)),
    "/payment-methods": (body) => stripe.createPaymentMethod(String(body.card)),
  };
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    const path = req.url ?? "/";
    const handler = req.method === "GET" ? reads[path] : writes[path];
    if (!handler) return void res.writeHead(404).end();
    try {
      const result = await handler(text ? JSON.parse(text) : {});
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result ?? null));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  return server;
}

export function controlPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** The controls of a server in another process, as the in-process server's methods (async). */
export class RemoteStripeServer {
  constructor(
    readonly url: string,
    readonly controlUrl: string,
  ) {}

  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.controlUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    if (!res.ok) throw new Error(`stripe server control ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  violations = () => this.call<Violation[]>("GET", "/violations");
  requests = () => this.call<RequestRecord[]>("GET", "/requests");
  ledger = () => this.call<Ledger & { problems: string[] }>("GET", "/ledger");
  sentEvents = () => this.call<JsonObject[]>("GET", "/events");
  deliveries = () => this.call<Delivery[]>("GET", "/deliveries");
  heldEvents = () => this.call<JsonObject[]>("GET", "/held");
  setOutage = (outage: Outage) => this.call<null>("POST", "/outage", { outage });
  setResponseDelay = (ms: number) => this.call<null>("POST", "/response-delay", { ms });
  configureWebhooks = (settings: Partial<WebhookSettings>) =>
    this.call<WebhookSettings>("POST", "/webhooks", settings);
  releaseWebhooks = (order: "fifo" | "reverse" = "fifo") =>
    this.call<number>("POST", "/webhooks/release", { order });
  holdAnswers = (hold: boolean) => this.call<null>("POST", "/answers/hold", { hold });
  releaseAnswers = () => this.call<number>("POST", "/answers/release");
  webhooksIdle = () => this.call<null>("POST", "/webhooks/idle");
  authenticate = (intent: string) => this.call<JsonObject>("POST", "/intents/authenticate", { intent });
  advanceClock = (ms: number) => this.call<null>("POST", "/clock/advance", { ms });
  createPaymentMethod = (card: string) => this.call<JsonObject>("POST", "/payment-methods", { card });
}
