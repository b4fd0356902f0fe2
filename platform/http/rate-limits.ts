import { createHash } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { ipKeyGenerator, type Options, type Store } from "express-rate-limit";
import { principalOf } from "../auth/principal.js";
import { ProblemError } from "./problem.js";

/**
 * Abuse limits at the edge: a quota per authenticated principal (`sub`) and one per client
 * address, each in fixed windows (per key, from its first request), answered 429 with Retry-After and the IETF
 * RateLimit / RateLimit-Policy header fields (draft 8) on every limited response. Probes and the
 * page's static assets are not counted. Counters live in `store`: this process's memory by
 * default (a map lookup per request: express-rate-limit's middleware cost more than the rest of
 * the edge); a store shared by every replica when there are several (express-rate-limit's Store
 * interface, see docs/operations.md).
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

/** One key's fixed window in this process's memory, with its RateLimit-Policy field (computed once). */
interface Window {
  hits: number;
  readonly resetAt: number;
  readonly policy: string;
}

interface Quota {
  /** Its name in the RateLimit / RateLimit-Policy fields. */
  readonly name: string;
  /** What the refusal calls the caller ("address", "account"). */
  readonly what: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly skip: (req: Request) => boolean;
  readonly key: (req: Request) => string;
  readonly store: Store | undefined;
}

/** The draft-8 partition key of a counter key (as express-rate-limit derives it: no key in clear). */
const partitionOf = (key: string): string =>
  Buffer.from(createHash("sha256").update(key).digest("hex").slice(0, 12)).toString("base64");

/**
 * One quota as one middleware: in memory, a map lookup and an increment (synchronous); with a
 * shared store, its increment. Then the draft-8 fields, and a 429 problem past the quota.
 */
function quota(q: Quota): RequestHandler {
  const windows = new Map<string, Window>();
  const windowSeconds = Math.ceil(q.windowMs / 1000);
  let sweepAt = Date.now() + q.windowMs;
  const policyOf = (key: string) => `"${q.name}"; q=${q.limit}; w=${windowSeconds}; pk=:${partitionOf(key)}:`;
  const answer = (res: Response, next: NextFunction, hits: number, resetAt: number, policy: string) => {
    const resetSeconds = Math.max(0, Math.ceil((resetAt - Date.now()) / 1000));
    if (!res.headersSent) {
      // Node's own append (a field line more when the other quota set it already), not express's
      // res.append, which reads the field back and sets it again.
      res.appendHeader("RateLimit", `"${q.name}"; r=${Math.max(q.limit - hits, 0)}; t=${resetSeconds}`);
      res.appendHeader("RateLimit-Policy", policy);
    }
    if (hits <= q.limit) return next();
    const seconds = Math.max(1, resetSeconds);
    next(
      new ProblemError("rate-limited", `Too many requests from this ${q.what}; retry in ${seconds} s.`, {
        retryAfterSeconds: seconds,
      }),
    );
  };
  const { store } = q;
  if (store) {
    store.init?.({ windowMs: q.windowMs } as Options);
    return (req, res, next) => {
      if (q.skip(req)) return next();
      const key = q.key(req);
      Promise.resolve(store.increment(key)).then(({ totalHits, resetTime }) => {
        answer(res, next, totalHits, resetTime?.getTime() ?? Date.now() + q.windowMs, policyOf(key));
      }, next);
    };
  }
  return (req, res, next) => {
    if (q.skip(req)) return next();
    const now = Date.now();
    if (now >= sweepAt) {
      sweepAt = now + q.windowMs;
      for (const [key, window] of windows) if (window.resetAt <= now) windows.delete(key);
    }
    const key = q.key(req);
    let window = windows.get(key);
    if (window === undefined || window.resetAt <= now) {
      window = { hits: 0, resetAt: now + q.windowMs, policy: policyOf(key) };
      windows.set(key, window);
    }
    window.hits++;
    answer(res, next, window.hits, window.resetAt, window.policy);
  };
}

export function rateLimits(options: RateLimitOptions): RequestHandler[] {
  // 4xx and 5xx count too: a flood of refused requests is still a flood.
  const perAddress = quota({
    name: "per-address",
    what: "address",
    limit: options.perAddress,
    windowMs: options.windowMs,
    skip: (req) => !isRateLimited(req.path),
    key: (req) => `address:${ipKeyGenerator(req.ip ?? "unknown")}`,
    store: options.stores?.address,
  });
  const perPrincipal = quota({
    name: "per-principal",
    what: "account",
    limit: options.perPrincipal,
    windowMs: options.windowMs,
    skip: (req) => !isRateLimited(req.path) || !principalOf(req),
    key: (req) => `principal:${principalOf(req)?.sub ?? ""}`,
    store: options.stores?.principal,
  });
  return [perAddress, perPrincipal];
}
