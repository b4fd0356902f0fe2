import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, rateLimit, type Store } from "express-rate-limit";
import { principalOf } from "../auth/principal.js";
import { ProblemError } from "./problem.js";

/**
 * Abuse limits at the edge (express-rate-limit): a quota per authenticated principal (`sub`) and
 * one per client address, each in fixed windows, answered 429 with Retry-After and the IETF
 * RateLimit / RateLimit-Policy header fields (draft 8) on every limited response. Probes and the
 * page's static assets are not counted. Counters live in `store`: this process's memory by
 * default; a store shared by every replica when there are several (see docs/operations.md).
 */
export interface RateLimitOptions {
  readonly windowMs: number;
  /** Requests one principal may make per window (all its addresses together). */
  readonly perPrincipal: number;
  /** Requests one client address may make per window (anonymous and signed-in together). */
  readonly perAddress: number;
  /** Counter stores, one per limiter; absent: in memory. */
  readonly stores?: { readonly principal?: Store; readonly address?: Store };
}

/**
 * Paths never limited, matched exactly (a prefix would let `/healthzX` or `/readyz-anything`
 * through unlimited): orchestrators probe them.
 */
const UNLIMITED_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);
/**
 * The page's bundled assets are immutable files with one-segment names (`/assets/index-3f2a.js`);
 * only such a name is uncounted, never a deeper path or a name without an extension.
 */
const ASSET = /^\/assets\/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(?:js|css|map|woff2?|svg|png|ico)$/;

/** Whether requests to this path count against the limits (the OpenAPI document lists 429 for them). */
export const isRateLimited = (path: string): boolean => !UNLIMITED_PATHS.has(path) && !ASSET.test(path);

const refuse =
  (what: string): RequestHandler =>
  (req, res, next) => {
    const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const seconds = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
    res.removeHeader("Retry-After");
    next(
      new ProblemError("rate-limited", `Too many requests from this ${what}; retry in ${seconds} s.`, {
        retryAfterSeconds: seconds,
      }),
    );
  };

export function rateLimits(options: RateLimitOptions): RequestHandler[] {
  const common = {
    windowMs: options.windowMs,
    standardHeaders: "draft-8" as const,
    legacyHeaders: false,
    // 4xx and 5xx count too: a flood of refused requests is still a flood.
    skipFailedRequests: false,
  };
  const perAddress = rateLimit({
    ...common,
    limit: options.perAddress,
    identifier: "per-address",
    skip: (req) => !isRateLimited(req.path),
    keyGenerator: (req) => `address:${ipKeyGenerator(req.ip ?? "unknown")}`,
    handler: refuse("address"),
    ...(options.stores?.address ? { store: options.stores.address } : {}),
  });
  const perPrincipal = rateLimit({
    ...common,
    limit: options.perPrincipal,
    identifier: "per-principal",
    skip: (req) => !isRateLimited(req.path) || !principalOf(req),
    keyGenerator: (req) => `principal:${principalOf(req)?.sub ?? ""}`,
    handler: refuse("account"),
    ...(options.stores?.principal ? { store: options.stores.principal } : {}),
  });
  return [perAddress, perPrincipal];
}
