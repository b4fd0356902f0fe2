import cors from "cors";
import type { Request, RequestHandler, Response } from "express";
import helmet from "helmet";
import { principalOf } from "../auth/principal.js";

/**
 * Security headers on every answer (helmet): nosniff, no framing, no referrer, HSTS for HTTPS
 * deployments, and a Content-Security-Policy that lets the API docs (Swagger UI: its own scripts,
 * inline styles, data: images) run and nothing else; the control-center page sets a stricter one
 * of its own.
 *
 * Every directive here is a constant, so helmet's answer is the same for every request: it is
 * asked once, at start-up, and what it set (and removed) is replayed on each response, one
 * middleware with a loop instead of helmet's dozen middleware run one after the other (issue 50).
 */
export function securityHeaders(): RequestHandler {
  const { set, removed } = headersOf(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", "data:"],
          connectSrc: ["'self'"],
          fontSrc: ["'self'", "data:"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
        },
      },
      crossOriginEmbedderPolicy: false,
      referrerPolicy: { policy: "no-referrer" },
    }),
  );
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}

/**
 * What a middleware that only sets constant headers does to a response: the headers it sets, in
 * order, and those it removes. It must answer at once (call next without an error).
 */
export function headersOf(middleware: RequestHandler): {
  readonly set: readonly (readonly [string, string])[];
  readonly removed: readonly string[];
} {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const response = {
    setHeader: (name: string, value: unknown) => {
      set.push([name, String(value)]);
      return response;
    },
    removeHeader: (name: string) => {
      removed.push(name);
    },
  };
  let passed = false;
  middleware({} as Request, response as unknown as Response, (error?: unknown) => {
    if (error) throw error;
    passed = true;
  });
  if (!passed) throw new Error("The security headers' middleware did not answer at once.");
  return { set, removed };
}

/**
 * Answers to an identified caller carry personal data (their reservations, coupons, the control
 * center): no cache, shared or private, may keep them. Routes whose answers are public whoever
 * asks (the page's content-hashed assets) set their own policy over this one; the sign-in and
 * session handlers set no-store themselves, signed in or not.
 */
export const noStoreForSignedIn: RequestHandler = (req, res, next) => {
  if (principalOf(req)) res.setHeader("Cache-Control", "no-store");
  next();
};

/**
 * Cross-origin access for browser apps on other origins, only those configured (CORS_ORIGINS);
 * none by default. Tokens travel in the Authorization header, never cookies, cross-origin.
 */
export function crossOrigin(origins: readonly string[] | undefined): RequestHandler | undefined {
  if (!origins || origins.length === 0) return undefined;
  const allowed = new Set(origins);
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: false,
    allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id"],
    exposedHeaders: [
      "Location",
      "Idempotent-Replayed",
      "Retry-After",
      "X-Correlation-Id",
      "RateLimit",
      "RateLimit-Policy",
    ],
    maxAge: 600,
    // The preflight's CORS headers are added here; the answer itself (204 with Allow) is the
    // service's own OPTIONS, as for any other caller.
    preflightContinue: true,
  });
}
