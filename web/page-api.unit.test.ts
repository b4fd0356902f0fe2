import { readdirSync, readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { OpenAPIBackend } from "openapi-backend";
import { beforeAll, describe, expect, it } from "vitest";
import { serviceAccess } from "../app/access.js";
import { openApiDocument } from "../app/surface/document.js";
import { ApiProblem, CONTROL_CENTER_URL, LIVE_UPDATES_URL, pageApi, SIGN_OUT_URL } from "./src/api.js";

/**
 * The page's calls against the OpenAPI document the service serves. The compile-time half is
 * web/src/api.ts itself (every call typed by the generated client/api.d.ts, checked by
 * `npm run typecheck`); this is the run-time half: each call the page can make is made against a
 * recording fetch, and the request it sends must be one of the document's operations and valid
 * for it (path, method, query, body). And nothing else in the page may call the service.
 */

type PageApi = ReturnType<typeof pageApi>;
const ORIGIN = "http://page.test";
const SRC = new URL("./src/", import.meta.url);

interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly credentials: Request["credentials"];
  readonly body: unknown;
}

/** A page API whose fetch records each request and answers with `respond`. */
function recorded(respond: (request: Request) => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const api = pageApi({
    baseUrl: ORIGIN,
    fetch: async (request: Request) => {
      const text = await request.clone().text();
      sent.push({
        method: request.method,
        url: new URL(request.url),
        headers: request.headers,
        credentials: request.credentials,
        body: text ? JSON.parse(text) : undefined,
      });
      return respond(request);
    },
  });
  return { api, sent };
}

const json = (body: unknown, status = 200, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });

/**
 * Every call of the page's API with the operation it must reach. `satisfies Record<keyof PageApi, …>`:
 * a call added to web/src/api.ts without a line here does not compile.
 */
const CALLS = {
  controlCenter: ["getControlCenter", (api) => api.controlCenter("lot-100", 100)],
  parkingLot: ["getParkingLot", (api) => api.parkingLot("gangnam-1")],
  parkingLotAsOf: ["getParkingLot", (api) => api.parkingLotAsOf("gangnam-1", "2026-11-23T14:02:00+09:00")],
  reservations: [
    "listReservations",
    (api) => api.reservations({ parkingLotId: "gangnam-1", carNumber: "10더8612", cursor: "20" }),
  ],
  registerLot: [
    "registerParkingLot",
    (api) => api.registerLot({ parkingLotId: "gangnam-1", name: "강남 1주차장", capacity: 5 }),
  ],
  signInConfig: ["getSignInConfig", (api) => api.signInConfig()],
  startSession: ["startSession", (api) => api.startSession("access-token", "refresh-token", "id-token")],
  cancelReservation: ["cancelReservation", (api) => api.cancelReservation("gangnam-1", "r-1", "일정 변경")],
  refundPayment: [
    "refundPayment",
    (api) => api.refundPayment("gangnam-1", "r-1", { amount: 400, reason: "the gate was stuck" }),
  ],
  timeline: [
    "getTimeline",
    (api) =>
      api.timeline("gangnam-1", {
        from: "2026-11-23T10:00:00+09:00",
        step: 15,
        asOf: "2026-11-23T09:00:00+09:00",
      }),
  ],
  lotHistory: [
    "getParkingLotHistory",
    (api) => api.lotHistory("gangnam-1", "42", 10, "2026-11-22T15:00:00.000Z", "2026-11-23T15:00:00.000Z"),
  ],
  lotMoney: ["getLotMoney", (api) => api.lotMoney("gangnam-1", "2026-11-17", "2026-11-23")],
  gateReviews: ["listGateReviews", (api) => api.gateReviews("gangnam-1", 10)],
  resolveGateReview: [
    "resolveGateReview",
    (api) => api.resolveGateReview("gangnam-1", "cam-1-000123", { action: "open", reservationId: "r-1" }),
  ],
  checkIn: ["checkIn", (api) => api.checkIn("gangnam-1", "r-1")],
  checkOut: ["checkOut", (api) => api.checkOut("gangnam-1", "r-1")],
  closeLot: [
    "closeParkingLot",
    (api) =>
      api.closeLot("gangnam-1", {
        from: "2026-11-23T10:00:00+09:00",
        until: "2026-11-23T12:00:00+09:00",
        reason: "도색 공사",
      }),
  ],
  changeCapacity: ["changeCapacity", (api) => api.changeCapacity("gangnam-1", 12)],
  webhookEndpoints: ["listWebhookEndpoints", (api) => api.webhookEndpoints()],
  createWebhookEndpoint: [
    "createWebhookEndpoint",
    (api) => api.createWebhookEndpoint({ url: "https://example.com/hooks", eventTypes: ["coupon.issued"] }),
  ],
  deleteWebhookEndpoint: ["deleteWebhookEndpoint", (api) => api.deleteWebhookEndpoint("we_abc")],
  webhookDeliveries: ["listWebhookDeliveries", (api) => api.webhookDeliveries("we_abc")],
  rotateWebhookSecret: ["rotateWebhookSecret", (api) => api.rotateWebhookSecret("we_abc")],
  replayWebhooks: ["replayWebhooks", (api) => api.replayWebhooks("we_abc", "1")],
  changeRate: ["changeRate", (api) => api.changeRate("gangnam-1", 3000)],
  changeCustomerLimit: ["changeCustomerLimit", (api) => api.changeCustomerLimit("gangnam-1", 2)],
} as const satisfies Record<keyof PageApi, readonly [string, (api: PageApi) => Promise<unknown>]>;

let document: OpenAPIBackend;
beforeAll(async () => {
  const definition = await SwaggerParser.dereference(
    structuredClone(openApiDocument(serviceAccess)) as never,
  );
  document = new OpenAPIBackend({ definition: definition as never, validate: true, quick: true });
  await document.init();
});

describe("the page's API layer (web/src/api.ts)", () => {
  it("has a checked call for every function it offers", () => {
    expect(Object.keys(CALLS).sort()).toEqual(Object.keys(pageApi()).sort());
  });

  it.each(Object.entries(CALLS))(
    "%s sends a request the document describes",
    async (_name, [operationId, call]) => {
      const { api, sent } = recorded((request) =>
        request.url.endsWith("/sign-in/session") ? new Response(null, { status: 204 }) : json({}),
      );
      await call(api);
      expect(sent).toHaveLength(1);
      const [request] = sent as [Sent];

      const asked = {
        method: request.method.toLowerCase(),
        path: request.url.pathname,
        query: Object.fromEntries(request.url.searchParams),
        headers: Object.fromEntries(request.headers),
        body: request.body,
      };
      expect(document.matchOperation(asked)?.operationId).toBe(operationId);
      const validation = document.validateRequest(asked, operationId);
      expect(validation.errors ?? []).toEqual([]);
      // Query parameters the document does not name are not flagged by the validator: check them here.
      const operation = document.getOperation(operationId);
      const named = new Set(
        (operation?.parameters ?? [])
          .map((p) => p as { in: string; name: string })
          .filter((p) => p.in === "query")
          .map((p) => p.name),
      );
      expect([...request.url.searchParams.keys()].filter((name) => !named.has(name))).toEqual([]);

      // The session cookie goes along (same origin); JSON is asked for, since /control-center
      // answers a browser's usual Accept with the page; Content-Type only with a body; a bearer
      // token only when trading it for the session.
      expect(request.credentials).toBe("same-origin");
      expect(request.headers.get("accept")).toBe("application/json");
      expect(request.headers.get("content-type")).toBe(
        request.body === undefined ? null : "application/json",
      );
      expect(request.headers.get("authorization")).toBe(
        operationId === "startSession" ? "Bearer access-token" : null,
      );
    },
  );

  it("reaches the live stream, the sign-out form and the sign-in link at paths of the document", () => {
    expect(document.matchOperation({ method: "get", path: LIVE_UPDATES_URL, headers: {} })?.operationId).toBe(
      "streamControlCenterEvents",
    );
    expect(document.matchOperation({ method: "post", path: SIGN_OUT_URL, headers: {} })?.operationId).toBe(
      "signOut",
    );
    expect(
      document.matchOperation({ method: "get", path: CONTROL_CENTER_URL, headers: {} })?.operationId,
    ).toBe("getControlCenter");
  });
});

describe("refusals and failures, in words", () => {
  const failing = async (respond: () => Response | Promise<Response>) => {
    const { api } = recorded(respond);
    return api.registerLot({ name: "x", capacity: 1 }).then(
      () => expect.unreachable("the call should fail"),
      (error: unknown) => {
        expect(error).toBeInstanceOf(ApiProblem);
        return error as ApiProblem;
      },
    );
  };

  it("a problem document: its title, detail and each wrong field", async () => {
    const problem = await failing(() =>
      json(
        {
          type: "/problems/validation",
          title: "The request is invalid",
          status: 400,
          detail: "capacity must be at most 100000",
          errors: [{ field: "body.capacity", message: "must be <= 100000" }],
        },
        400,
        "application/problem+json",
      ),
    );
    expect(problem.message).toBe("The request is invalid: capacity must be at most 100000");
    expect([problem.title, problem.detail, problem.status]).toEqual([
      "The request is invalid",
      "capacity must be at most 100000",
      400,
    ]);
    expect(problem.errors).toEqual([{ field: "body.capacity", message: "must be <= 100000" }]);
    expect(problem.signedOut).toBe(false);
  });

  it("401: the session is gone", async () => {
    const problem = await failing(() =>
      json(
        { type: "/problems/unauthorized", title: "Authentication required", status: 401 },
        401,
        "application/problem+json",
      ),
    );
    expect(problem.signedOut).toBe(true);
    expect(problem.title).toBe("Authentication required");
    // Its type, for the control center to word it in its language (issue 69).
    expect(problem.code).toBe("unauthorized");
  });

  it("an answer without a problem document: words, never a bare status", async () => {
    const gateway = await failing(
      () =>
        new Response("<h1>502 Bad Gateway</h1>", { status: 502, headers: { "content-type": "text/html" } }),
    );
    expect([gateway.title, gateway.status]).toEqual(["The service could not answer", 502]);
    expect(gateway.message).not.toMatch(/502/);
    const refused = await failing(() => json({ message: "no" }, 403));
    expect(refused.title).toBe("The request was refused");
    // The control center words them by code, in its language (issue 69).
    expect([gateway.code, refused.code]).toEqual(["page-server-failed", "page-refused"]);
  });

  it("no answer at all, or one the page cannot read", async () => {
    const offline = await failing(() => Promise.reject(new TypeError("fetch failed")));
    expect([offline.title, offline.code]).toEqual(["The service cannot be reached", "page-unreachable"]);
    const garbled = await failing(
      () => new Response("<html>", { status: 200, headers: { "content-type": "text/html" } }),
    );
    expect(garbled.title).toBe("The service answered something the page cannot read");
  });
});

describe("the rest of the page", () => {
  const sources = readdirSync(SRC)
    .filter((name) => /\.tsx?$/.test(name))
    .map((name) => ({ name, text: readFileSync(new URL(name, SRC), "utf8") }));

  it("calls the service only through web/src/api.ts", () => {
    const others = sources.filter((s) => s.name !== "api.ts");
    expect(others.length).toBeGreaterThan(3);
    for (const { name, text } of others) {
      expect(text, name).not.toMatch(/\bfetch\s*\(|XMLHttpRequest|sendBeacon|WebSocket|openapi-fetch/);
      // A path of this origin written out (a URL built by hand) instead of taken from api.ts.
      expect(text.match(/["'`]\/[A-Za-z.]/g) ?? [], name).toEqual([]);
      for (const source of text.match(/new EventSource\(([^)]*)\)/g) ?? []) {
        expect(source, name).toBe("new EventSource(LIVE_UPDATES_URL)");
      }
    }
  });

  it("and api.ts through the typed client only", () => {
    const api = sources.find((s) => s.name === "api.ts")?.text ?? "";
    expect(api).toMatch(/createClient<paths, "application\/json">/);
    expect(api).not.toMatch(/\bfetch\s*\(|XMLHttpRequest|\bas any\b|@ts-(ignore|expect-error|nocheck)/);
  });
});
