import cors from "cors";
import type { RequestHandler } from "express";
import helmet from "helmet";
import { principalOf } from "../auth/principal.js";

/**
 * Security headers on every answer (helmet): nosniff, no framing, no referrer, HSTS for HTTPS
 * deployments, and a Content-Security-Policy that lets the API docs (Swagger UI: its own scripts,
 * inline styles, data: images) run and nothing else; the control-center page sets a stricter one
 * of its own.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
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
  });
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
