import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Bank, type BankState, emptyBank, type Params, StripeFailure } from "./bank.js";
import { describeErrors, findOperation, type Operation, SPEC_SOURCE, validateEvent } from "./contract.js";
import { parseForm } from "./form.js";
import { type Ledger, ledgerOf, ledgerProblems } from "./ledger.js";
import { clock, eventObject, type JsonObject, newId, now } from "./objects.js";
import { createPaymentMethod } from "./payment-methods.js";
import { searchIntents } from "./search.js";
import {
  authenticateSetupIntent,
  cancelSetupIntent,
  confirmSetupIntent,
  createSetupIntent,
  retrieveSetupIntent,
  type SetupIntentBank,
} from "./setup-intents.js";
import { type Delivery, WebhookSender, type WebhookSettings } from "./webhooks.js";

/**
 * A Stripe-compatible HTTP server for tests (see README.md): keeps PaymentIntents, refunds and
 * customers, declines by test card, honours Idempotency-Key, sends signed webhooks, can go down,
 * and checks every request and answer against Stripe's OpenAPI document, recording violations.
 */
export type Outage = "none" | "refuse" | 500 | 503 | "drop-answer" | "fail-after-apply";

export interface Violation {
  readonly kind: "request" | "response" | "event" | "route" | "auth" | "server";
  readonly method: string;
  readonly path: string;
  readonly detail: string[];
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number | "refused" | "dropped";
  readonly idempotencyKey: string | null;
  readonly replayed: boolean;
}

/** A request the server has applied (its answer computed, maybe not yet sent). */
export interface AppliedRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly idempotencyKey: string | null;
  readonly body: JsonObject;
}

export interface StripeServerOptions {
  readonly port?: number;
  readonly webhookUrl?: string;
  readonly webhookSecret?: string;
  /** Keeps the state (intents, refunds, customers, idempotent answers) in this file across restarts. */
  readonly stateFile?: string;
}

interface Saved {
  readonly path: string;
  readonly params: string;
  readonly status: number;
  readonly body: JsonObject;
  /** When it was saved (the server's clock, epoch seconds): pruned 24 hours on. */
  readonly at?: number;
}

/**
 * Stripe may prune an idempotency key once it is at least 24 hours old; a request with a pruned key
 * is a new request (https://docs.stripe.com/idempotency).
 */
const IDEMPOTENCY_KEPT_SECONDS = 24 * 3600;

interface Answer {
  status: number;
  body: JsonObject;
  replayed?: boolean;
}

const API_VERSION = String(SPEC_SOURCE.version);

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

const apiError = (status: number, type: string, message: string, extra: JsonObject = {}): Answer => ({
  status,
  body: { error: { type, message, ...extra } },
});

export class StripeServer {
  readonly webhooks = new WebhookSender();
  private readonly server: Server;
  private readonly bank: Bank;
  private readonly state: BankState & { idempotency: Record<string, Saved> };
  private readonly events = new Map<string, JsonObject>();
  private readonly violationList: Violation[] = [];
  private readonly requestList: RequestRecord[] = [];
  private outage: Outage = "none";
  private responseDelayMs = 0;
  private answersHeld = false;
  private holdOnly: (request: AppliedRequest) => boolean = () => true;
  private heldAnswers: (() => void)[] = [];
  private waiters: { match: (r: AppliedRequest) => boolean; resolve: (r: AppliedRequest) => void }[] = [];
  private current: { id: string; idempotencyKey: string | null; apiVersion: string } | undefined;
  port = 0;

  constructor(private readonly options: StripeServerOptions = {}) {
    const file = options.stateFile;
    this.state =
      file && existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { ...emptyBank(), idempotency: {} };
    this.bank = new Bank(this.state, (type, object) => this.emit(type, object));
    this.webhooks.configure({
      url: options.webhookUrl ?? null,
      ...(options.webhookSecret ? { secret: options.webhookSecret } : {}),
    });
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = this.options.port ?? 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** "refuse" closes the port (connections refused) until the outage ends; 500/503 answer api_error. */
  async setOutage(outage: Outage): Promise<void> {
    const wasRefusing = this.outage === "refuse";
    this.outage = outage;
    if (outage === "refuse" && !wasRefusing && this.server.listening) await this.close();
    if (outage !== "refuse" && wasRefusing) await this.listen(this.port);
  }

  setResponseDelay(ms: number): void {
    this.responseDelayMs = ms;
  }

  /**
   * While held, answers wait (the request is applied, its webhooks sent) until `releaseAnswers()`:
   * a test can kill the caller between the provider's answer and the caller's record of it.
   * `only`: the answers held (every one unless it says otherwise).
   */
  holdAnswers(hold: boolean, only: (request: AppliedRequest) => boolean = () => true): void {
    this.answersHeld = hold;
    this.holdOnly = only;
    if (!hold) this.releaseAnswers();
  }

  releaseAnswers(): number {
    const held = this.heldAnswers;
    this.heldAnswers = [];
    for (const release of held) release();
    return held.length;
  }

  /** Resolves with the first request applied from now on that `match` accepts. */
  nextApplied(match: (request: AppliedRequest) => boolean = () => true): Promise<AppliedRequest> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private applied(request: AppliedRequest): void {
    const matched = this.waiters.filter((w) => w.match(request));
    this.waiters = this.waiters.filter((w) => !matched.includes(w));
    for (const waiter of matched) waiter.resolve(request);
  }

  configureWebhooks(settings: Partial<WebhookSettings>): WebhookSettings {
    return this.webhooks.configure(settings);
  }

  violations(): Violation[] {
    return [...this.violationList];
  }

  requests(): RequestRecord[] {
    return [...this.requestList];
  }

  ledger(): Ledger {
    return ledgerOf(this.state);
  }

  ledgerProblems(): string[] {
    return ledgerProblems(this.ledger());
  }

  /**
   * The customer completes 3-D Secure on an intent that `requires_action` (as in Stripe.js's frame):
   * it is authorized (manual capture) and its webhook goes out, checked against the contract like
   * any event. Stripe's pm_card_authenticationRequired asks for it on every on-session charge and
   * declines every off-session one (`authentication_required`).
   */
  authenticate(intentId: string): JsonObject {
    const intent = this.bank.authenticate(intentId);
    if (this.options.stateFile) writeFileSync(this.options.stateFile, JSON.stringify(this.state));
    return intent;
  }

  /** The customer completes 3-D Secure on a SetupIntent that `requires_action` (issue 71). */
  authenticateSetup(setupIntentId: string): JsonObject {
    return authenticateSetupIntent(this.setups, setupIntentId);
  }

  /** What the SetupIntents work on (setup-intents.ts): the bank's state and its webhooks. */
  private get setups(): SetupIntentBank {
    this.state.setupIntents ??= {};
    this.state.paymentMethods ??= {};
    return {
      setupIntents: this.state.setupIntents,
      methods: this.state.paymentMethods,
      customers: this.state.customers,
      emit: (type, object) => this.emit(type, object),
    };
  }

  /**
   * Moves the server's clock on (every server in this process: one clock), then lets the
   * authorizations older than seven days lapse (payment_intent.canceled goes out for each).
   */
  advanceClock(ms: number): void {
    clock.offsetMs += ms;
    this.bank.lapseAuthorizations();
    if (this.options.stateFile) writeFileSync(this.options.stateFile, JSON.stringify(this.state));
  }

  /**
   * A PaymentMethod made from a test card's details as Stripe.js makes one (`pm_…`, attached to no
   * Customer): unlike the test tokens it is held to Stripe's reuse rules (payment-methods.ts).
   */
  createPaymentMethod(token: string): JsonObject {
    // The bank gave the state its PaymentMethods (a state file older than them has none).
    const made = createPaymentMethod(this.state.paymentMethods ?? {}, token);
    if (this.options.stateFile) writeFileSync(this.options.stateFile, JSON.stringify(this.state));
    return made;
  }

  sentEvents(): JsonObject[] {
    return [...this.webhooks.sent];
  }

  deliveries(): Delivery[] {
    return [...this.webhooks.deliveries];
  }

  private emit(type: string, object: JsonObject): void {
    const request = this.current ?? { id: null, idempotencyKey: null, apiVersion: API_VERSION };
    const event = eventObject(type, object, request, request.apiVersion);
    const problems = validateEvent(event);
    if (problems.length > 0) this.violation("event", "EVENT", type, problems);
    this.events.set(String(event.id), event);
    this.webhooks.enqueue(event);
  }

  private violation(kind: Violation["kind"], method: string, path: string, detail: string[]): void {
    this.violationList.push({ kind, method, path, detail });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://localhost");
    const key = typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : null;
    const record = (status: RequestRecord["status"], replayed = false) =>
      this.requestList.push({ method, path: url.pathname, status, idempotencyKey: key, replayed });
    if (this.outage === 500 || this.outage === 503) {
      record(this.outage);
      return this.write(res, apiError(this.outage, "api_error", "The test server is down (outage control)."));
    }
    const requestId = newId("req");
    const apiVersion = String(req.headers["stripe-version"] ?? API_VERSION);
    this.current = { id: requestId, idempotencyKey: key, apiVersion };
    let answer: Answer;
    try {
      answer = this.answer(req, method, url, Buffer.concat(chunks).toString("utf8"), key);
    } finally {
      this.current = undefined;
    }
    if (method !== "GET" && this.options.stateFile)
      writeFileSync(this.options.stateFile, JSON.stringify(this.state));
    const applied = {
      method,
      path: url.pathname,
      status: answer.status,
      idempotencyKey: key,
      body: answer.body,
    };
    this.applied(applied);
    if (this.responseDelayMs > 0) await sleep(this.responseDelayMs);
    if (this.answersHeld && this.holdOnly(applied))
      await new Promise<void>((resolve) => this.heldAnswers.push(resolve));
    if (this.outage === "drop-answer") {
      record("dropped");
      res.socket?.destroy();
      return;
    }
    record(answer.status, answer.replayed === true);
    this.write(res, answer, { "request-id": requestId, "stripe-version": apiVersion, key });
  }

  private write(
    res: ServerResponse,
    answer: Answer,
    meta?: { "request-id": string; "stripe-version": string; key: string | null },
  ): void {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (meta) {
      headers["request-id"] = meta["request-id"];
      headers["stripe-version"] = meta["stripe-version"];
      if (meta.key) headers["idempotency-key"] = meta.key;
      if (answer.replayed) headers["idempotent-replayed"] = "true";
    }
    res.writeHead(answer.status, headers).end(JSON.stringify(answer.body, null, 2));
  }

  private answer(req: IncomingMessage, method: string, url: URL, body: string, key: string | null): Answer {
    const path = url.pathname;
    const found = findOperation(method, path);
    if (!found) {
      this.violation("route", method, path, ["no such operation in the trimmed Stripe OpenAPI document"]);
      return apiError(404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
    }
    const contentType = String(req.headers["content-type"] ?? "");
    if (method === "POST" && body && !contentType.startsWith("application/x-www-form-urlencoded"))
      this.violation("request", method, path, [
        `content-type ${contentType}, not application/x-www-form-urlencoded`,
      ]);
    const params: Params = parseForm(method === "POST" ? body : url.search.slice(1));
    const raw = stableJson(params);
    if (!found.operation.validateParams(params)) {
      const detail = describeErrors(found.operation.validateParams.errors);
      this.violation("request", method, path, detail);
      const first = found.operation.validateParams.errors?.[0];
      const param = String(first?.params?.additionalProperty ?? first?.instancePath.slice(1) ?? "");
      return apiError(400, "invalid_request_error", `Invalid request: ${detail[0] ?? ""}`, { param });
    }
    const auth = String(req.headers.authorization ?? "");
    if (!this.authorized(auth, found.operation, found.ids, params)) {
      this.violation("auth", method, path, [
        `no secret key (nor a publishable key with the intent's client_secret) in the Authorization header: ${auth ? "wrong" : "missing"}`,
      ]);
      return apiError(401, "invalid_request_error", "You did not provide a valid API key.");
    }
    if (method === "POST" && key) {
      const old = this.state.idempotency[key];
      if (old && now() - (old.at ?? now()) >= IDEMPOTENCY_KEPT_SECONDS) delete this.state.idempotency[key];
      const saved = this.state.idempotency[key];
      if (saved && (saved.path !== path || saved.params !== raw))
        return apiError(
          400,
          "idempotency_error",
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      if (saved) return { status: saved.status, body: saved.body, replayed: true };
    }
    const applied = this.dispatch(found.operation, found.ids, params);
    this.check(found.operation, method, path, applied);
    // "fail-after-apply": the request took effect, then the server failed answering it. Stripe saves
    // the answer of every request whose execution began, a 500 too, and replays it to a retry with
    // the same key until the key is pruned (https://docs.stripe.com/idempotency).
    const failedAfter = this.outage === "fail-after-apply" && applied.status === 200;
    const answer = failedAfter
      ? apiError(500, "api_error", "The test server failed after applying the request.")
      : applied;
    if (method === "POST" && key && (answer.status < 500 || failedAfter))
      this.state.idempotency[key] = {
        path,
        params: raw,
        status: answer.status,
        body: answer.body,
        at: now(),
      };
    return answer;
  }

  /**
   * A secret key may do anything; a publishable key (as Stripe.js or a mobile SDK has) may only
   * retrieve or confirm a PaymentIntent (issue 71: or a SetupIntent, `confirmCardSetup`) whose
   * client_secret it gives (https://docs.stripe.com/keys: publishable keys and client secrets).
   */
  private authorized(auth: string, operation: Operation, ids: string[], params: Params): boolean {
    if (/^Bearer sk_(test|live)_\w+/.test(auth)) return true;
    if (!/^Bearer pk_(test|live)_\w+/.test(auth)) return false;
    const [kind, action = ""] = operation.path.split("/{intent}");
    if (!["", "/confirm"].includes(action)) return false;
    const intent =
      kind === "/v1/payment_intents"
        ? this.state.intents[ids[0] ?? ""]
        : kind === "/v1/setup_intents"
          ? this.state.setupIntents?.[ids[0] ?? ""]
          : undefined;
    return intent !== undefined && params.client_secret === intent.clientSecret;
  }

  private check(operation: Operation, method: string, path: string, answer: Answer): void {
    const validate = answer.status === 200 ? operation.validateOk : operation.validateError;
    if (!validate(answer.body)) this.violation("response", method, path, describeErrors(validate.errors));
  }

  private dispatch(operation: Operation, ids: string[], params: Params): Answer {
    const id = ids[0] ?? "";
    const routes: Record<string, () => JsonObject> = {
      "post /v1/payment_intents": () => this.bank.createIntent(params),
      "get /v1/payment_intents": () => this.bank.listIntents(params),
      "get /v1/payment_intents/search": () => {
        this.bank.lapseAuthorizations();
        return searchIntents(Object.values(this.state.intents), params);
      },
      "get /v1/payment_intents/{intent}": () => this.bank.retrieveIntent(id),
      "post /v1/payment_intents/{intent}/confirm": () => this.bank.confirmIntent(id, params),
      "post /v1/payment_intents/{intent}/capture": () => this.bank.captureIntent(id, params),
      "post /v1/payment_intents/{intent}/cancel": () => this.bank.cancelIntent(id, params),
      "post /v1/refunds": () => this.bank.createRefund(params),
      "get /v1/refunds": () => this.bank.listRefunds(params),
      "get /v1/refunds/{refund}": () => this.bank.retrieveRefund(id),
      "get /v1/payment_methods/{payment_method}": () => this.bank.retrievePaymentMethod(id),
      "post /v1/customers": () => this.bank.createCustomer(params),
      "get /v1/customers/{customer}": () => this.bank.retrieveCustomer(id),
      "delete /v1/customers/{customer}": () => this.bank.deleteCustomer(id),
      "post /v1/setup_intents": () => createSetupIntent(this.setups, params),
      "get /v1/setup_intents/{intent}": () => retrieveSetupIntent(this.setups, id),
      "post /v1/setup_intents/{intent}/confirm": () => confirmSetupIntent(this.setups, id, params),
      "post /v1/setup_intents/{intent}/cancel": () => cancelSetupIntent(this.setups, id, params),
      "get /v1/events/{id}": () => {
        const event = this.events.get(id);
        if (!event)
          throw new StripeFailure(404, {
            type: "invalid_request_error",
            code: "resource_missing",
            message: `No such event: '${id}'`,
            param: "id",
          });
        return event;
      },
    };
    const route = routes[`${operation.method} ${operation.path}`];
    try {
      if (!route) throw new Error(`no handler for ${operation.method} ${operation.path}`);
      return { status: 200, body: route() };
    } catch (error) {
      if (error instanceof StripeFailure) return { status: error.status, body: { error: error.error } };
      this.violation("server", operation.method, operation.path, [String(error)]);
      return apiError(500, "api_error", String(error));
    }
  }
}

/** Starts a server on loopback (a free port unless one is given). */
export async function startStripeServer(options: StripeServerOptions = {}): Promise<StripeServer> {
  const server = new StripeServer(options);
  await server.listen();
  return server;
}
