import type { NextFunction, Request, RequestHandler, Response } from "express";
import { endSpan, SpanKind, startSpan, traceparentFor, tracingOn, validTraceparent } from "../tracing.js";

/** The traceparent what a request causes is carried under (its span's, or the caller's with tracing off). */
const traceparents = new WeakMap<Request, string>();

export const traceparentOf = (req: Request): string | undefined => traceparents.get(req);

/**
 * Accepts a W3C `traceparent` on every request (a malformed one is ignored, as the standard says)
 * and, with tracing on, starts the request's server span under it (a new trace without one), ended
 * when the response is. With tracing off a request costs the check of its header, and the header
 * (when valid) is carried as it came.
 */
export function traceRequests(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const caller = validTraceparent(req.headers.traceparent);
    if (!tracingOn()) {
      // Off: the caller's traceparent is carried as it came (no span, nothing else allocated).
      if (caller) traceparents.set(req, caller);
      next();
      return;
    }
    const path = req.path;
    const span = startSpan(`${req.method} ${path}`, caller, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method, "url.path": path },
    });
    const carried = traceparentFor(span, caller);
    if (carried) traceparents.set(req, carried);
    if (span) {
      res.once("close", () => {
        const route = (req.route as { path?: string } | undefined)?.path;
        if (route) span.updateName(`${req.method} ${route}`);
        span.setAttribute("http.response.status_code", res.statusCode);
        endSpan(span, res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
      });
    }
    next();
  };
}
