import type { NextFunction, Request, RequestHandler, Response } from "express";
import { endSpan, SpanKind, startSpan, traceparentFor, tracingOn, validTraceparent } from "../tracing.js";

/** The traceparent what a request causes is carried under (its span's, or an unrecorded caller's), with tracing on. */
const traceparents = new WeakMap<Request, string>();

export const traceparentOf = (req: Request): string | undefined => traceparents.get(req);

/**
 * Accepts a W3C `traceparent` on every request (a malformed one is ignored, as the standard says)
 * and, with tracing on, starts the request's server span under it (a new trace without one), ended
 * when the response is; what the request causes carries the span's traceparent (or the caller's,
 * when its trace is not sampled). With tracing off nothing is read or carried, as OpenTelemetry's
 * API does without an SDK: a request costs one check, and the log holds no trace ids nobody
 * records. `spanPath` writes the path as the log does (`url.path` and, off any route, the name).
 */
export function traceRequests(spanPath: (path: string) => string = (path) => path): RequestHandler {
  return function traceRequest(req: Request, res: Response, next: NextFunction) {
    if (!tracingOn()) {
      next();
      return;
    }
    const caller = validTraceparent(req.headers.traceparent);
    // As the log writes it (the application's rule: a customer id pseudonymized), since spans are shipped too.
    const path = spanPath(req.path);
    // Named when it ends, by its route (known then); started under the method alone, no string built.
    const span = startSpan(req.method, caller, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method, "url.path": path },
    });
    const carried = traceparentFor(span, caller);
    if (carried) traceparents.set(req, carried);
    if (span) {
      // A response closes once: a plain listener, not once()'s wrapper.
      res.on("close", function endRequestSpan() {
        const route = (req.route as { path?: string } | undefined)?.path;
        span.updateName(`${req.method} ${route ?? path}`);
        span.setAttribute("http.response.status_code", res.statusCode);
        endSpan(span, res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
      });
    }
    next();
  };
}
