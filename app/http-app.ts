import compression from "compression";
import express, { type Express, type RequestHandler } from "express";
import { match } from "path-to-regexp";
import { accessControl, actWithOneRole } from "../platform/auth/access.js";
import { principalOf } from "../platform/auth/principal.js";
import { accessLog, type LoggedPath } from "../platform/http/access-log.js";
import { directJsonAnswers } from "../platform/http/json-answers.js";
import { jsonBodies } from "../platform/http/json-body.js";
import {
  assignCorrelationId,
  boundedBodyDepth,
  correlationId,
  errorHandler,
  notFound,
  refuseIllFormedCorrelationId,
  verifyUtf8Body,
} from "../platform/http/middleware.js";
import { expressPath, type Side } from "../platform/http/operation.js";
import { inflightLimit } from "../platform/http/overload.js";
import { ProblemError } from "../platform/http/problem.js";
import { rateLimits } from "../platform/http/rate-limits.js";
import { inSequence } from "../platform/http/route-table.js";
import { crossOrigin, noStoreForSignedIn, securityHeaders } from "../platform/http/security-headers.js";
import { traceRequests } from "../platform/http/tracing.js";
import { workGate } from "../platform/http/work-gate.js";
import { SecretBox } from "../platform/secret-box.js";
import { stripeClient, stripeProvider } from "../projections/payments/stripe-provider.js";
import { stripeWebhookReader } from "../projections/payments/stripe-webhooks.js";
import { viewerOf } from "../read-api/access.js";
import { HistoryService } from "../read-api/history/history-service.js";
import { assetRoutes, findWebDir } from "../read-api/page-routes.js";
import { queryRoutes } from "../read-api/query-routes.js";
import { TimeTravel } from "../read-api/time-travel/time-travel.js";
import type { Views } from "../read-api/views/views.js";
import { webhookRoutes } from "../read-api/webhooks/webhook-routes.js";
import { actingRole } from "../schemas/actor.js";
import { type CouponDirectory, CouponSpending } from "../write-side/coupon/spending.js";
import { CustomerErasure, type ForgetAfterErasure } from "../write-side/customer-erasure.js";
import { GateEvents } from "../write-side/gate-events.js";
import { commandRoutes } from "../write-side/http/command-routes.js";
import { ACCESS_RULES, serviceAccess, UNLISTED_ROUTES_ALLOW } from "./access.js";
import { webhookKeyOf } from "./auth.js";
import { pseudonymizedPaths, refuseErasedCustomers } from "./erased-customers.js";
import type { Lifecycle } from "./health.js";
import { lotScopeControl } from "./lot-scope.js";
import {
  erasureKeysOf,
  reservationsFromQueries,
  snapshotsForgetting,
  useDataKeysOf,
} from "./personal-data.js";
import { SERVICE_PROBLEMS } from "./problems.js";
import type { Services } from "./services.js";
import { appRoutes } from "./surface/app-routes.js";
import { openApiDocument } from "./surface/document.js";
import { methodsByPath, OPERATIONS } from "./surface/operations.js";

/** The largest request body, in bytes (16 KiB). */
export const BODY_LIMIT = 16 * 1024;

/** The HTTP face of a process: the command and/or query API for its role, plus health, metrics and docs. */
export function createHttpApp(services: Services, lifecycle: Lifecycle): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.set("etag", false);
  // A command's JSON answer written directly, without express's generic res.json (issue 50).
  directJsonAnswers(app);
  // The client address (rate limits, logs) through this many proxies' X-Forwarded-For.
  app.set("trust proxy", services.config.trustProxyHops);

  // Paths as every log line writes them: a customer id by the key store's pseudonym of it.
  const keys = useDataKeysOf(services.config);
  const loggedPath = pseudonymizedPaths(OPERATIONS, (customerId) => keys.pseudonym(customerId));
  // What every request passes, then the routes: each part one layer (inSequence), so that Express's
  // router enters three layers to reach a command instead of ~22 (issue 50).
  app.use(inSequence(edge(services, lifecycle, loggedPath)));
  // The large answers that do not change while the process runs, compressed as the caller accepts
  // (brotli or gzip): this document (~0.8 MB of JSON), Swagger UI's bundle and the page's assets
  // (issue 69). Only these paths: a command's small answer and the live updates' stream stay as sent.
  app.use(["/openapi.json", "/docs", "/assets"], compression());
  documentation(app);
  app.use(
    inSequence([
      ...bodies(),
      // Health, metrics, this document, the problem types, the development issuer, sign-in and
      // sessions (app/surface/app-routes.ts), their bodies parsed like every other route's.
      appRoutes(services, lifecycle),
      ...apiRoutes(services),
    ]),
  );
  app.use(notFound);
  app.use(errorHandler(services.logger, { ...SERVICE_PROBLEMS, loggedPath }));
  return app;
}

/** The sides of the API this process serves: commands and/or queries by role, the app routes always. */
const sidesOf = (services: Services): ReadonlySet<Side> =>
  new Set<Side>([
    "app",
    ...(services.commands ? ["commands" as const] : []),
    ...(services.queries ? ["queries" as const] : []),
  ]);

/**
 * What every request passes before any route: its correlation id, trace and log line, the security
 * headers, the rate limits, authentication, the 405/OPTIONS answers and the access check.
 */
function edge(services: Services, lifecycle: Lifecycle, loggedPath: LoggedPath): RequestHandler[] {
  const { config } = services;
  const documented = documentedPaths(sidesOf(services));
  const cors = crossOrigin(config.corsOrigins);
  const [perAddress, perPrincipal] = rateLimits({
    windowMs: config.rateLimitWindowMs,
    perAddress: config.rateLimitPerAddress,
    perPrincipal: config.rateLimitPerPrincipal,
    ...(services.rateLimitStores ? { stores: services.rateLimitStores } : {}),
  });
  return [
    // Which documented path a request is on, found once; its template (never the path itself,
    // which may hold a customer's id) is on the stall board while the request is in flight.
    (req, res, next) => {
      const path = documented(req.path);
      res.locals.documentedPath = path;
      if (lifecycle.loop)
        // A plain listener: leaving the board twice would change nothing (the slot is compared first).
        res.on("close", lifecycle.loop.board.enter(`${req.method} ${path?.path ?? "(no route)"}`));
      next();
    },
    assignCorrelationId,
    traceRequests(loggedPath),
    accessLog(services.logger, correlationId, loggedPath),
    securityHeaders(),
    ...(cors ? [cors] : []),
    // While shutting down, answer what arrives but ask clients to reconnect elsewhere.
    (_req, res, next) => {
      if (!lifecycle.ready) res.setHeader("Connection", "close");
      next();
    },
    // A flood is counted per address before any token is verified, then per caller; then whether
    // they may: all before any route (and before any body is parsed).
    ...(perAddress ? [perAddress] : []),
    // Counted, then refused: a caller's ill-formed X-Correlation-Id is a 400 naming the header.
    refuseIllFormedCorrelationId,
    services.authentication.authenticate,
    // From here on the request acts with one role: the route's, by one precedence (schemas/actor.ts).
    actWithOneRole(serviceAccess, actingRole),
    // An erased customer's token or session: 403 customer-erased, on every route, before anything else.
    refuseErasedCustomers(useDataKeysOf(config)),
    ...(perPrincipal ? [perPrincipal] : []),
    noStoreForSignedIn,
    answerMethods,
    accessControl(ACCESS_RULES, UNLISTED_ROUTES_ALLOW, services.logger, loggedPath),
    lotScopeControl(OPERATIONS, serviceAccess),
  ];
}

interface DocumentedPath {
  readonly path: string;
  readonly methods: readonly string[];
  readonly allow: string;
}

/**
 * The documented path a request path is on (the first that matches, as Express's routes would,
 * with its matching: case-insensitive, a trailing slash allowed), among those this process serves.
 */
function documentedPaths(sides: ReadonlySet<Side>): (requestPath: string) => DocumentedPath | undefined {
  const paths = [...methodsByPath(sides)].map(([path, methods]) => ({
    matches: match(expressPath(path), { decode: false }),
    path,
    methods,
    allow: methods.join(", "),
  }));
  return (requestPath) => paths.find((p) => p.matches(requestPath));
}

/**
 * OPTIONS and a wrong method of every documented path this process serves. Which methods a
 * documented path has is public (it is in /openapi.json): OPTIONS and a wrong method are answered
 * here, before access control, so that a caller of any kind gets the 204 or 405 with Allow the
 * document promises, and no route is reached by a method it does not list. The path was found
 * once, at the edge (one step, not two routes a path: every request walked those ~60 layers
 * before its own route).
 */
const answerMethods: RequestHandler = (req, res, next) => {
  const path = res.locals.documentedPath as DocumentedPath | undefined;
  if (!path) return next();
  if (req.method === "OPTIONS") {
    res.setHeader("Allow", path.allow);
    res.status(204).end();
    return;
  }
  const method = req.method === "HEAD" ? "GET" : req.method;
  if (path.methods.includes(method)) return next();
  next(
    new ProblemError("method-not-allowed", `${req.method} is not allowed on ${req.path}.`, {
      headers: { Allow: path.allow },
    }),
  );
};

/**
 * Swagger UI's request interceptor, run in the browser (swagger-ui-express writes it out as its
 * source): a request tried on /docs without a correlation id gets a fresh one, and a booking without
 * an Idempotency-Key a fresh key, so that trying it twice books twice instead of replaying the
 * first answer (a key typed in the form is kept, to try a retry on purpose).
 */
function freshIds(request: { method: string; url: string; headers: Record<string, string> }) {
  const fresh = () => `docs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const has = (name: string) =>
    Object.keys(request.headers).some((h) => h.toLowerCase() === name.toLowerCase());
  if (!has("x-correlation-id")) request.headers["X-Correlation-Id"] = fresh();
  if (request.method === "POST" && /\/reservations(\?|$)/.test(request.url) && !has("idempotency-key"))
    request.headers["Idempotency-Key"] = fresh();
  return request;
}

/** On a phone, the page fits its width: long paths and code wrap or scroll inside their box. */
const PHONE_CSS = `
@media (max-width: 600px) {
  .swagger-ui .wrapper { padding: 0 8px; }
  .swagger-ui .info { margin: 16px 0; }
  .swagger-ui .opblock .opblock-summary { flex-wrap: wrap; }
  .swagger-ui .opblock .opblock-summary-path { max-width: 100%; word-break: break-all; }
  .swagger-ui .opblock-description-wrapper, .swagger-ui .opblock-body, .swagger-ui .responses-wrapper { overflow-x: auto; }
  .swagger-ui pre, .swagger-ui .microlight { white-space: pre-wrap; word-break: break-word; max-width: 100%; }
  .swagger-ui table { display: block; overflow-x: auto; max-width: 100%; }
  .swagger-ui .parameters-col_description input, .swagger-ui textarea { max-width: 100%; }
  .swagger-ui .scheme-container { overflow-x: hidden; }
  .swagger-ui .scheme-container .schemes { flex-wrap: wrap; gap: 8px; }
  .swagger-ui .scheme-container .schemes > *, .swagger-ui .servers, .swagger-ui .servers select { min-width: 0; max-width: 100%; }
  .swagger-ui .model-box, .swagger-ui section.models { overflow-x: auto; max-width: 100%; }
  .swagger-ui .opblock-tag { flex-wrap: wrap; }
  .swagger-ui .topbar .topbar-wrapper, .swagger-ui .topbar a { max-width: 100%; min-width: 0; }
  .swagger-ui small, .swagger-ui .renderedMarkdown, .swagger-ui .markdown { max-width: 100%; min-width: 0; overflow-x: auto; }
}`;

/**
 * The Swagger UI page (the document and the problem types' pages are operations: appRoutes),
 * loaded on its first request: swagger-ui-express brings an express of its own (with its body
 * parsers), ~0.1 s of every start for a page few starts serve (issue 50). The page reads the
 * document converted to OpenAPI 3.0 (/docs/openapi-3.0.json): Swagger UI parses a 3.1 document
 * with a resolver (apidom) that took ~4× as long to list the operations (bench/docs-page.ts).
 */
function documentation(app: Express): void {
  let docs: Promise<express.Router> | undefined;
  const load = async (): Promise<express.Router> => {
    const [{ default: swaggerUi }, downConvert] = await Promise.all([
      import("swagger-ui-express"),
      import("@apiture/openapi-down-convert"),
    ]);
    // A CommonJS module: its exports are the default export once bundled (npm run build).
    const { Converter } = (downConvert as unknown as { default?: typeof downConvert }).default ?? downConvert;
    const document30 = JSON.stringify(
      new Converter(openApiDocument(serviceAccess)).convert(),
      (key, value) =>
        // 3.0's `example` (3.1's `examples`, converted) pre-fills Try it out: no parameter names another's id.
        key === "parameters" && Array.isArray(value)
          ? value.map((p: { schema?: object }) =>
              p.schema ? { ...p, schema: { ...p.schema, example: undefined } } : p,
            )
          : value,
    );
    // Swagger UI's page, with what its template lacks: a viewport (readable on a phone) and the
    // service's icon. The document's server is "/", the address /docs was loaded from.
    const docsPage = swaggerUi
      .generateHTML(undefined, {
        // The Authorize button keeps the token across reloads of /docs; each request tried gets fresh ids.
        swaggerOptions: {
          url: "/docs/openapi-3.0.json",
          persistAuthorization: true,
          requestInterceptor: freshIds,
        },
        customSiteTitle: "Parking reservations API",
        customCss: PHONE_CSS,
        customfavIcon: "/favicon.ico",
      })
      .replace(
        '<meta charset="UTF-8">',
        '<meta charset="UTF-8">\n  <meta name="viewport" content="width=device-width, initial-scale=1">',
      );
    const router = express.Router();
    router.get("/openapi-3.0.json", (_req, res) => {
      res.set("Cache-Control", "no-cache").type("json").send(document30);
    });
    router.use(swaggerUi.serve, (_req: express.Request, res: express.Response) => {
      res.type("html").send(docsPage);
    });
    return router;
  };
  app.use("/docs", (req, res, next) => {
    docs ??= load();
    docs.then(
      (router) => router(req, res, next),
      (error: unknown) => {
        docs = undefined;
        next(error);
      },
    );
  });
}

/** Request bodies: parsed as UTF-8 JSON up to BODY_LIMIT, nested at most MAX_BODY_DEPTH levels. */
function bodies(): RequestHandler[] {
  // A GET's body means nothing (RFC 9110): it is not read, so a query never answers a body's
  // problems (malformed, too large, wrong charset).
  // The common small UTF-8 JSON body is read directly (platform/http/json-body.ts); every other one
  // (compressed, chunked, too large, another type or charset) by the body parser.
  const parseJson = jsonBodies(
    BODY_LIMIT,
    express.json({
      limit: BODY_LIMIT,
      strict: true,
      type: ["application/json", "application/*+json"],
      verify: verifyUtf8Body,
    }),
  );
  return [
    (req, res, next) => (req.method === "GET" || req.method === "HEAD" ? next() : parseJson(req, res, next)),
    // Before anything walks the body recursively: a hostile nesting depth is a 400, not a stack overflow.
    boundedBodyDepth,
  ];
}

/** The command and query APIs this process's role serves, and the control-center page. */
function apiRoutes(services: Services): RequestHandler[] {
  const routes: RequestHandler[] = [];
  if (services.commands) {
    const limit = inflightLimit(services.config.maxInflightCommands, services.metrics);
    const commands = commandRoutes(services.commands, {
      metrics: services.metrics,
      idempotencySecret: services.idempotencySecret,
      clock: services.clock,
      ...stripeWebhooksOf(services.config),
      logger: services.logger,
      ...(services.eventStore && services.queries
        ? {
            coupons: new CouponSpending(
              services.eventStore,
              services.commands,
              couponDirectoryOf(services.queries),
              services.logger,
            ),
          }
        : {}),
      ...(services.eventStore ? { gates: new GateEvents(services.eventStore, services.commands) } : {}),
      ...(services.eventStore
        ? {
            erasure: new CustomerErasure(
              services.eventStore,
              erasureKeysOf(services.config),
              reservationsFromQueries(services.queries, services.eventStore),
              afterErasure(services),
            ),
          }
        : {}),
    });
    routes.push(
      (req, res, next) => (req.method === "GET" || req.method === "HEAD" ? next() : limit(req, res, next)),
      commands,
    );
  }
  if (services.queries) {
    const { queries, eventStore } = services;
    if (!eventStore) throw new Error("The query API reads the event store (history, time travel).");
    const webDir = findWebDir();
    // The control center as of a moment starts at its last book before it (control-center-books.ts).
    const timeTravel = new TimeTravel(eventStore, { index: queries.context, books: queries.context.store });
    services.erasures.add(() => timeTravel.forgetPersonalData());
    services.metrics.watchTimeTravel(() => timeTravel.metricsStats());
    routes.push(
      queryRoutes({
        views: queries,
        history: new HistoryService(eventStore, queries.context),
        timeTravel,
        clock: services.clock,
        controlCenterLotLimit: 100,
        page: pageOptions(services, webDir),
        gate: heavyReadGates(services),
      }),
    );
    if (services.documentStore)
      routes.push(
        webhookRoutes({
          documentStore: services.documentStore,
          eventStore,
          box: new SecretBox(webhookKeyOf(services.config)),
          allowPrivate: services.config.webhookAllowPrivate,
        }),
      );
    routes.push(assetRoutes(webDir));
  }
  return routes;
}

/**
 * What an erasure made here does once the keys are gone, before it answers: the customer's browser
 * sessions end on every replica (their tokens are refused by refuseErasedCustomers), then this
 * process's copies of their data and the lots' snapshots are forgotten.
 */
function afterErasure(services: Services): ForgetAfterErasure {
  const forget = snapshotsForgetting(services.documentStore, services.erasures);
  return async (parkingLotIds, reservationIds, customerId) => {
    await services.authentication.endCustomerSessions(customerId);
    await forget(parkingLotIds, reservationIds, customerId);
  };
}

/** What the control-center page needs: where its bundle is, its live updates, how it signs in. */
function pageOptions(services: Services, webDir: string | undefined) {
  return {
    webDir,
    liveUpdates: services.liveUpdates,
    // With an external provider the page signs in by Authorization Code + PKCE; with the
    // embedded development issuer, by a one-time link from `npm run -s token -- --sign-in-url`.
    signIn: services.config.authIssuer
      ? {
          mode: "oidc" as const,
          issuer: services.config.authIssuer,
          clientId: services.config.pageOidcClientId,
          scope: services.config.pageOidcScope,
          ...(services.config.pageOidcAudience ? { audience: services.config.pageOidcAudience } : {}),
          ...(services.config.pageOidcResource ? { resource: services.config.pageOidcResource } : {}),
          // http only where configuration allows it (loopback, AUTH_ISSUER_ALLOW_HTTP).
          allowHttp: services.config.authIssuer.startsWith("http:"),
        }
      : { mode: "link" as const },
    viewerOf,
    sessionCheck: services.authentication.sessionCheck,
  };
}

/**
 * One work gate per expensive read endpoint (HEAVY_READ_*): a bounded number computed at once and
 * a bounded queue, anonymous callers on a smaller budget of their own.
 */
function heavyReadGates(services: Services) {
  const { config, metrics } = services;
  const limits = {
    everyone: {
      concurrency: config.heavyReadConcurrency,
      queue: config.heavyReadQueue,
      maxWaitMs: config.heavyReadMaxWaitMs,
    },
    anonymous: {
      concurrency: config.heavyReadAnonymousConcurrency,
      queue: config.heavyReadAnonymousQueue,
      maxWaitMs: config.heavyReadMaxWaitMs,
    },
  };
  return (operation: { readonly operationId: string }) =>
    workGate(operation.operationId, limits, (req) => principalOf(req) === undefined, metrics, WORK_BUDGETS);
}

/**
 * What an expensive read may examine (issue 66): 25,000 documents plus 8 per item of the page (a
 * page of 50: 25,400; of 1,000: 33,000), room for the first read of a lot's state with 20,000
 * active bookings (a lot of 8,000 reads more than 4,400), far below what would hold the event loop
 * for EVENT_LOOP_STALL_MS; events for a fold of a lot's log as of a moment. Past it the request
 * ends 503, or 400 naming `limit` when it asked a page above 100 (a smaller one may fit).
 */
const WORK_BUDGETS = {
  base: { documents: 25_000, events: 200_000 },
  perItem: { documents: 8, events: 0 },
  defaultLimit: 50,
};

/** PAYMENTS=stripe: Stripe's webhooks are read (signature checked with STRIPE_WEBHOOK_SECRET). */
function stripeWebhooksOf(config: Services["config"]) {
  if (config.payments !== "stripe" || config.stripeWebhookSecret === undefined) return {};
  const provider = config.stripeSecretKey
    ? stripeProvider(
        stripeClient({ secretKey: config.stripeSecretKey, apiBase: config.stripeApiBase, timeoutMs: 10_000 }),
        config.stripeInstance,
      )
    : undefined;
  return {
    stripeWebhooks: stripeWebhookReader(config.stripeWebhookSecret, config.stripeInstance),
    ...(provider
      ? {
          stripeRelease: async (intentId: string, key: string) => {
            const outcome = await provider.release(intentId, key);
            return outcome.ok
              ? { ok: true as const, released: outcome.value.released }
              : { ok: false as const, retryable: outcome.kind === "retryable", message: outcome.message };
          },
        }
      : {}),
  };
}

/** Where a coupon's stream is (issue 47): the customer-coupons read model knows whose each coupon is. */
function couponDirectoryOf(queries: Views): CouponDirectory {
  return { reservationOf: (couponId) => queries.reservations.couponReservation(couponId) };
}
