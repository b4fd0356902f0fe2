import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Level } from "pino";
import type { Logger } from "../logger.js";

/** Paths probed every few seconds by orchestrators and scrapers: never logged. */
const QUIET_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The level of a request's line: server errors are errors; every other answer, a 503 the service
 * chose to give (overload, a read-your-writes wait that ran out, shutting down) included, is one
 * line at info (the error handler adds one warn line saying why it refused).
 */
export const accessLogLevel = (status: number, expectedRefusal = false): Level =>
  status >= 500 && !expectedRefusal ? "error" : "info";

/**
 * How a path is written in the log: the application replaces what must not be logged in clear
 * (app/erased-customers.ts: a customer id by its keyed pseudonym). Given the path without its query.
 */
export type LoggedPath = (path: string) => string;

const asItIs: LoggedPath = (path) => path;

/**
 * The fields of a request's line. Only what is needed to follow a request through the logs:
 * no headers (tokens, cookies), no query string (it may carry customer ids), and the path as
 * `loggedPath` writes it (a customer id in it pseudonymized).
 */
export function accessLogLine(
  req: Request,
  res: Response,
  correlationId: string,
  startedAt: number,
  loggedPath: LoggedPath = asItIs,
) {
  const url = req.originalUrl;
  const query = url.indexOf("?");
  const refused = res.statusCode >= 400 && res.statusCode < 500;
  return {
    correlationId,
    req: {
      method: req.method,
      path: loggedPath(query < 0 ? url : url.slice(0, query)),
      // A refused request says who sent what, from selected headers only: never Authorization or Cookie.
      ...(refused ? { headers: selectedHeaders(req) } : {}),
    },
    res: { statusCode: res.statusCode },
    responseTime: Math.round((performance.now() - startedAt) * 1000) / 1000,
  };
}

/** The request headers a 4xx line carries: enough to tell a broken client from an attack. */
export const LOGGED_HEADERS = [
  "user-agent",
  "content-type",
  "content-length",
  "origin",
  "referer",
  "x-forwarded-for",
  "sec-fetch-site",
] as const;

function selectedHeaders(req: Request): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of LOGGED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") picked[name] = value.slice(0, 200);
  }
  return picked;
}

/**
 * One JSON line per request when its response is finished (or the connection closes first),
 * except for the probes above. Cheap when the line's level is off (LOG_LEVEL=warn): a timestamp and one
 * listener per request, and the line is only built when it will be written. (pino-http, which
 * this replaces, built three child loggers and serialized the request up front for every request:
 * 8% of the service's CPU under load, see BENCHMARKS.md.)
 */
export function accessLog(
  logger: Logger,
  correlationIdOf: (req: Request) => string,
  loggedPath: LoggedPath = asItIs,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (QUIET_PATHS.has(req.path)) {
      next();
      return;
    }
    const startedAt = performance.now();
    res.once("close", () => {
      const level = res.writableFinished
        ? accessLogLevel(res.statusCode, res.locals.expectedRefusal === true)
        : "warn";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        accessLogLine(req, res, correlationIdOf(req), startedAt, loggedPath),
        res.writableFinished ? "request completed" : "request aborted",
      );
    });
    next();
  };
}
