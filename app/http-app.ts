import express, { type Express } from "express";
import swaggerUi from "swagger-ui-express";
import { accessLog } from "../platform/http/access-log.js";
import {
  assignCorrelationId,
  correlationId,
  errorHandler,
  notFound,
  problemDocs,
} from "../platform/http/middleware.js";
import { inflightLimit } from "../platform/http/overload.js";
import { ProblemError } from "../platform/http/problem.js";
import { openApiDocument } from "../read-api/openapi.js";
import { findWebDir, pageRoutes } from "../read-api/page-routes.js";
import { queryRoutes } from "../read-api/query-routes.js";
import { commandRoutes } from "../write-side/http/command-routes.js";
import { healthRoutes, type Lifecycle } from "./health.js";
import type { Services } from "./services.js";

export const BODY_LIMIT = "16kb";

/** The HTTP face of a process: the command and/or query API for its role, plus health, metrics and docs. */
export function createHttpApp(services: Services, lifecycle: Lifecycle): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.set("etag", false);

  app.use(assignCorrelationId);
  app.use(accessLog(services.logger, correlationId));
  // While shutting down, answer what arrives but ask clients to reconnect elsewhere.
  app.use((_req, res, next) => {
    if (!lifecycle.ready) res.setHeader("Connection", "close");
    next();
  });

  app.use(healthRoutes(services, lifecycle));
  const openapi = openApiDocument();
  app.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  app.use(
    "/docs",
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      swaggerOptions: { url: "/openapi.json" },
      customSiteTitle: "Parking reservations API",
    }),
  );
  app.get("/problems/:name", problemDocs);

  app.use(
    express.json({ limit: BODY_LIMIT, strict: true, type: ["application/json", "application/*+json"] }),
  );

  if (services.commands) {
    const limit = inflightLimit(services.config.maxInflightCommands, services.metrics);
    const commands = commandRoutes(services.commands, services.metrics);
    app.use((req, res, next) =>
      req.method === "POST" || req.method === "DELETE" ? limit(req, res, next) : next(),
    );
    app.use(commands);
  }
  if (services.queries) {
    app.use(
      pageRoutes({
        webDir: findWebDir(),
        liveUpdates: services.liveUpdates,
        signIn: { mode: "link" },
        viewerOf: () => "operator",
      }),
    );
  }
  if (services.queries) app.use(queryRoutes(services.queries, { controlCenterLotLimit: 100 }));

  app.all("/parking-lots", (req, _res, next) =>
    next(
      new ProblemError("method-not-allowed", `${req.method} is not allowed on ${req.path}.`, {
        headers: { Allow: allow(services, ["POST"], ["GET"]) },
      }),
    ),
  );
  app.use(notFound);
  app.use(errorHandler(services.logger));
  return app;
}

const allow = (services: Services, commandMethods: string[], queryMethods: string[]) =>
  [...(services.commands ? commandMethods : []), ...(services.queries ? queryMethods : [])].join(", ");
