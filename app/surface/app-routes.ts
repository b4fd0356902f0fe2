import type { Router } from "express";
import { problemDocs } from "../../platform/http/middleware.js";
import { type OperationHandler, operationRouter } from "../../platform/http/operation-routes.js";
import { serviceAccess } from "../access.js";
import { healthHandlers, type Lifecycle } from "../health.js";
import type { Services } from "../services.js";
import {
  APP_OPERATIONS,
  type AppOperationId,
  AUTHENTICATION_OPERATION_IDS,
  type AuthenticationOperationId,
} from "./app-operations.js";
import { openApiDocument } from "./document.js";

type ProcessOperationId = Exclude<AppOperationId, AuthenticationOperationId>;

const servedByAuthentication = new Set<string>(AUTHENTICATION_OPERATION_IDS);

/**
 * The process's own operations, generated from their rows (app-operations.ts): health, readiness,
 * metrics, this OpenAPI document and the problem types' pages, each by one named handler. The
 * authentication's operations are served by its routes (app/auth.ts); app/operations.e2e.test.ts
 * holds every route to a row and every row to a route.
 */
export function appRoutes(services: Services, lifecycle: Lifecycle): Router {
  const openapi = openApiDocument(serviceAccess);
  const handlers: Record<ProcessOperationId, OperationHandler> = {
    ...healthHandlers(services, lifecycle),
    getOpenApiDocument: (_req, res) => {
      res.json(openapi);
    },
    // An unknown name is not one of its pages: it falls through to the 404.
    getProblemType: (req, res, next) => {
      problemDocs(req, res, next);
    },
  };
  const operations = APP_OPERATIONS.filter(
    (operation): operation is (typeof APP_OPERATIONS)[number] & { operationId: ProcessOperationId } =>
      !servedByAuthentication.has(operation.operationId),
  );
  return operationRouter(operations, handlers);
}
