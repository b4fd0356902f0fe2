import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import { problemDocs } from "../../platform/http/middleware.js";
import { type HandlersOf, operationRouter } from "../../platform/http/operation-routes.js";
import { serviceAccess } from "../access.js";
import { healthHandlers, type Lifecycle } from "../health.js";
import type { Services } from "../services.js";
import { APP_OPERATIONS } from "./app-operations.js";
import { openApiDocument } from "./document.js";

/**
 * The process's own operations, generated from their rows (app-operations.ts), each by one named
 * handler: health, readiness, metrics, this OpenAPI document and the problem types' pages, and
 * the authentication's (the development issuer, sign-in, sessions, sign-out: app/auth.ts).
 */
export function appRoutes(services: Services, lifecycle: Lifecycle): RequestHandler {
  // Written once, with a validator of its bytes: a browser that has it asks again and gets a 304.
  const openapi = JSON.stringify(openApiDocument(serviceAccess));
  const etag = `"${createHash("sha256").update(openapi).digest("base64url").slice(0, 27)}"`;
  const handlers: HandlersOf<typeof APP_OPERATIONS> = {
    ...healthHandlers(services, lifecycle),
    ...services.authentication.handlers,
    getOpenApiDocument: (req, res) => {
      res.set({ ETag: etag, "Cache-Control": "no-cache" });
      if (req.fresh) res.status(304).end();
      else res.type("json").send(openapi);
    },
    // An unknown name is not one of its pages: it falls through to the 404.
    getProblemType: (req, res, next) => {
      problemDocs(req, res, next);
    },
  };
  return operationRouter(APP_OPERATIONS, handlers);
}
