import type { NextFunction, Request, RequestHandler, Response } from "express";
import { match } from "path-to-regexp";

/** One route of a table: its method, its Express-style path, and what runs for it, in order. */
export interface TableRoute {
  readonly method: string;
  readonly path: string;
  readonly handlers: readonly RequestHandler[];
}

/** A path parameter's value as Express decodes it: a malformed escape is a 400, not a crash. */
function decodeParam(value: string): string {
  if (value.length === 0) return value;
  try {
    return decodeURIComponent(value);
  } catch (error) {
    if (error instanceof URIError) {
      throw Object.assign(new URIError(`Failed to decode param '${value}'`), { status: 400 });
    }
    throw error;
  }
}

/**
 * Runs `handlers` one after the other as Express runs a route's: each goes on with next(), an
 * error (passed to next, thrown, or a returned promise's rejection) goes to `done` at once.
 */
function runHandlers(
  handlers: readonly RequestHandler[],
  req: Request,
  res: Response,
  done: NextFunction,
): void {
  let at = 0;
  const next: NextFunction = (error?: unknown) => {
    if (error !== undefined && error !== null && error !== "route") return done(error);
    const handler = error === "route" ? undefined : handlers[at++];
    if (!handler) return done();
    try {
      const result = handler(req, res, next) as unknown;
      if (result instanceof Promise)
        result.catch((rejection: unknown) => next(rejection ?? new Error("Rejected promise")));
    } catch (thrown) {
      next(thrown);
    }
  };
  next();
}

/**
 * One middleware serving a table of routes: the request's method and path are looked up once in
 * the table (the first route that matches, with Express's matching: case-insensitive, a trailing
 * slash allowed, a GET route answering HEAD), instead of Express's router walking a layer per
 * route. Sets `req.params` and `req.route.path` (the tracing names spans by it) as Express does;
 * a request no route matches goes on to what follows.
 */
export function routeTable(routes: readonly TableRoute[]): RequestHandler {
  const byMethod = new Map<
    string,
    { readonly matches: ReturnType<typeof match>; readonly route: TableRoute }[]
  >();
  for (const route of routes) {
    const method = route.method.toUpperCase();
    byMethod.set(method, [
      ...(byMethod.get(method) ?? []),
      { matches: match(route.path, { decode: decodeParam }), route },
    ]);
  }
  const table: RequestHandler = (req, res, next) => {
    const candidates = byMethod.get(req.method) ?? (req.method === "HEAD" ? byMethod.get("GET") : undefined);
    if (!candidates) return next();
    let found: { readonly route: TableRoute; readonly params: Record<string, string> } | undefined;
    try {
      for (const { matches, route } of candidates) {
        const hit = matches(req.path);
        if (hit) {
          found = { route, params: hit.params as Record<string, string> };
          break;
        }
      }
    } catch (error) {
      return next(error);
    }
    if (!found) return next();
    req.params = found.params;
    (req as { route?: unknown }).route = { path: found.route.path };
    runHandlers(found.route.handlers, req, res, next);
  };
  // Listed the way an Express router lists its routes (a stack of layers with route.path and
  // route.methods), so that what lists an app's routes (the operations e2e test) still sees them.
  const stack = routes.map((route) => ({
    route: { path: route.path, methods: { [route.method.toLowerCase()]: true } },
  }));
  return Object.assign(table, { stack });
}

/**
 * Middleware run one after the other as one layer, as Express's router runs app.use() layers:
 * each goes on with next() (or next("route")), an error (passed to next, thrown, or a returned
 * promise's rejection) or next("router") goes to `done` at once, skipping the rest. One layer
 * instead of one each: Express's router matches, enters and leaves every layer on every request
 * (issue 50: ~22 layers before a command's route).
 * Lists what it runs as a router lists its layers (`stack`), so what walks an app's routes sees
 * through it.
 */
export function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  const sequence: RequestHandler = (req, res, done) => {
    let at = 0;
    const next: NextFunction = (error?: unknown) => {
      if (error && error !== "route") return done(error);
      const handler = handlers[at++];
      if (!handler) return done();
      try {
        const result = handler(req, res, next) as unknown;
        if (isThenable(result))
          result.then(undefined, (rejection: unknown) => next(rejection || new Error("Rejected promise")));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
  return Object.assign(sequence, { stack: handlers.map((handle) => ({ handle })) });
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
