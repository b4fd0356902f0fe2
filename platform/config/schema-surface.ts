import { Type } from "@sinclair/typebox";
import { env, literals } from "./setting.js";
import { OTLP_PROTOCOLS, PROCESSOR_THREADS } from "./values.js";

/** What clients and browsers meet: live updates, the control-center page, rate limits, CORS, where processors run, tracing. Order is the documentation's. */
export const SURFACE_SETTINGS = {
  liveUpdateIntervalMs: Type.Integer({
    minimum: 50,
    maximum: 10000,
    ...env(
      "LIVE_UPDATE_INTERVAL_MS",
      "250",
      "How often (ms) the query API reads the projection checkpoints for the control-center page's live updates; a page gets at most one update per interval, however many events arrive.",
    ),
  }),
  liveRefreshMs: Type.Integer({
    minimum: 50,
    maximum: 60000,
    ...env(
      "LIVE_REFRESH_MS",
      "1000",
      "The longest (ms) the control-center view goes unread while someone listens though no projection moved: what the clock alone changes (a window ends, a car overstays, a closure begins) reaches the page within this. Sent only if what a listener sees changed.",
    ),
  }),
  liveHeartbeatMs: Type.Integer({
    minimum: 10,
    maximum: 300000,
    ...env(
      "LIVE_HEARTBEAT_MS",
      "15000",
      "How often (ms) an idle live-update stream (Server-Sent Events) gets a heartbeat; keep it below the idle timeout of any proxy in front.",
    ),
  }),
  liveMaxStreams: Type.Integer({
    minimum: 1,
    maximum: 100000,
    ...env(
      "LIVE_MAX_STREAMS",
      "1000",
      "Live-update streams (GET /control-center/events) one process serves at once, for all callers together; past it a new stream is answered 503 with Retry-After (each costs a connection and a copy of every update).",
    ),
  }),
  liveMaxStreamsPerPrincipal: Type.Integer({
    minimum: 1,
    maximum: 100000,
    ...env(
      "LIVE_MAX_STREAMS_PER_PRINCIPAL",
      "10",
      "Live-update streams one caller (token `sub`) may hold open at once in one process (a page holds one per tab); past it a new stream is answered 429 with Retry-After, so one operator cannot take every stream of LIVE_MAX_STREAMS.",
    ),
  }),
  pageOidcClientId: Type.String({
    format: "clientId",
    ...env(
      "PAGE_OIDC_CLIENT_ID",
      "control-center",
      "Public client id of the control-center page at the external OpenID Connect provider (with AUTH_ISSUER set), for Authorization Code with PKCE; its redirect URI is {origin}/control-center.",
    ),
  }),
  pageOidcScope: Type.String({
    format: "scope",
    ...env(
      "PAGE_OIDC_SCOPE",
      "openid",
      "Scope the control-center page asks the provider for, e.g. `openid offline_access` (a refresh token) or Entra's `openid offline_access api://<app id>/access`.",
    ),
  }),
  pageOidcAudience: Type.Optional(
    Type.String({
      format: "audience",
      ...env(
        "PAGE_OIDC_AUDIENCE",
        undefined,
        "`audience` parameter of the page's authorization request: Auth0 issues a JWT access token for AUTH_AUDIENCE only when asked with it. Unset: not sent.",
      ),
    }),
  ),
  pageOidcResource: Type.Optional(
    Type.String({
      format: "absoluteUri",
      ...env(
        "PAGE_OIDC_RESOURCE",
        undefined,
        "`resource` parameter (RFC 8707 resource indicator) of the page's authorization and token requests, for providers that pick the access token's audience by it. Unset: not sent.",
      ),
    }),
  ),
  publicUrl: Type.Optional(
    Type.String({
      format: "webOrigin",
      ...env(
        "PUBLIC_URL",
        undefined,
        "Origin (scheme://host[:port]) browsers and clients reach the service at. The development issuer's discovery names its keys under it (never the request's Host), and with https:// the session cookie is always `Secure`. Unset: the address the server listens at.",
      ),
    }),
  ),
  rateLimitWindowMs: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    ...env(
      "RATE_LIMIT_WINDOW_MS",
      "60000",
      "Length (ms) of the fixed windows the rate limits count requests in.",
    ),
  }),
  rateLimitPerPrincipal: Type.Integer({
    minimum: 1,
    ...env(
      "RATE_LIMIT_PER_PRINCIPAL",
      "1200",
      "Requests one authenticated caller (token `sub`) may make per window, from all addresses together; past it 429 with Retry-After. Health, readiness, metrics and page assets are not counted.",
    ),
  }),
  rateLimitPerAddress: Type.Integer({
    minimum: 1,
    ...env(
      "RATE_LIMIT_PER_ADDRESS",
      "3000",
      "Requests one client address may make per window, anonymous or not; past it 429 with Retry-After. Behind a proxy set TRUST_PROXY_HOPS, or every client shares the proxy's address.",
    ),
  }),
  trustProxyHops: Type.Integer({
    minimum: 0,
    maximum: 10,
    ...env(
      "TRUST_PROXY_HOPS",
      "0",
      "How many proxies in front of the service (a gateway, an ingress) append to X-Forwarded-For: the client address is read that many hops back. 0 = the TCP peer is the client. Never more than really exist, or clients can choose their own address.",
    ),
  }),
  corsOrigins: Type.Optional(
    Type.Array(Type.String({ format: "webOrigin" }), {
      listOf: "origins like https://app.example.com",
      ...env(
        "CORS_ORIGINS",
        undefined,
        "Browser origins (scheme://host[:port], comma-separated) allowed to call the API from their pages (CORS). Unset: no cross-origin access; the control center is same-origin and needs none.",
      ),
    }),
  ),
  processorsThread: literals(
    PROCESSOR_THREADS,
    env(
      "PROCESSORS_THREAD",
      "worker",
      "Where `ROLE=all` runs the processors (projectors, coupon policy, payments, scheduler): `worker` (a worker thread, so the request thread only serves the API and a second core does the read models; with the embedded event store its appends go through the request thread's single writer connection) or `main` (the request thread). See BENCHMARKS.md.",
    ),
  ),
  otelExporterOtlpEndpoint: Type.Optional(
    Type.String({
      format: "httpUrl",
      ...env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        undefined,
        "OpenTelemetry collector to export traces to over OTLP/HTTP (`{endpoint}/v1/traces`, encoded as OTEL_EXPORTER_OTLP_PROTOCOL says), by OpenTelemetry's SDK (its batch span processor, read from the OTEL_BSP_* variables, and its OTLP exporter): each request's span (continuing a W3C `traceparent` it sends), the command's decision and append, one span per projection's batch of events (in the trace of its first sampled event, linked to the trace of every event it applied), the coupon policy's reaction, the reservation's ack → visible lag and the control center's live-update push, one trace carried through the events' metadata. Each thread that traces (the processors' thread too) runs its own exporter. Unset: no SDK is started, no spans are made, and an incoming `traceparent` is neither read nor carried in the events (as OpenTelemetry's API does without an SDK).",
      ),
    }),
  ),
  otelExporterOtlpProtocol: literals(
    OTLP_PROTOCOLS,
    env(
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      "http/protobuf",
      "With OTEL_EXPORTER_OTLP_ENDPOINT: how the spans are encoded, `http/protobuf` (OpenTelemetry's default, a third of JSON's bytes) or `http/json` (for a receiver that reads JSON only). Every OTLP/HTTP collector (OpenTelemetry's, Jaeger, Tempo) takes both; gRPC is not offered. The exporter's other OTEL_EXPORTER_OTLP_* settings (headers, timeout, compression) are read by the exporter library itself; the endpoint is this one.",
    ),
  ),
  otelExporterOtlpTracesProtocol: Type.Optional(
    literals(
      OTLP_PROTOCOLS,
      env(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        undefined,
        "The traces' own OTEL_EXPORTER_OTLP_PROTOCOL, as OpenTelemetry's per-signal variables go: when set, it is the one used.",
      ),
    ),
  ),
  otelTracesSamplerArg: Type.Number({
    minimum: 0,
    maximum: 1,
    ...env(
      "OTEL_TRACES_SAMPLER_ARG",
      "1",
      "With OTEL_EXPORTER_OTLP_ENDPOINT: the share (0 to 1) of the traces this service starts that are recorded and exported. The sampler is OpenTelemetry's `parentbased_traceidratio` with this ratio: a request whose `traceparent` says sampled is always recorded, one that says not sampled never, a trace started here at this ratio by its trace id. A trace left out carries no `traceparent` on. A recorded reservation makes five spans of its own (request, decision, append, coupon reaction, ack → visible; a live-update push too while a control-center stream is open) and shares the projections' batch spans. What recording every trace costs: BENCHMARKS.md (tracing); a busy service may record a share.",
    ),
  }),
};
