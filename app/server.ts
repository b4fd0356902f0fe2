import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Express } from "express";
import type { Config } from "../platform/config.js";
import { EventLoopWatch } from "../platform/event-loop-watch.js";
import { expressMessageClasses } from "../platform/http/express-messages.js";
import { GracefulConnections } from "../platform/http/graceful-connections.js";
import { MAX_HEADER_BYTES } from "../platform/http/limits.js";
import { createLogger, type Logger, resolveLogOutput } from "../platform/logger.js";
import { StallBoard } from "../platform/stall-board.js";
import type { Lifecycle } from "./health.js";
import { createHttpApp } from "./http-app.js";
import { createServices, type ServiceOptions, type Services } from "./services.js";

export interface RunningService {
  readonly services: Services;
  readonly server: Server;
  readonly url: string;
  /** The request thread's event loop (app/main.ts starts its watchdog thread). */
  readonly loop: EventLoopWatch;
  /**
   * Graceful stop: not ready at once, keep serving for SHUTDOWN_DRAIN_MS (unless `drain: false`),
   * then close the listener, finish in-flight requests, stop workers (checkpoints saved), close stores.
   * Requests still unanswered at three quarters of SHUTDOWN_TIMEOUT_MS have their connections
   * closed, so that one that never finishes leaves the rest of the timeout to closing the stores.
   */
  shutdown(reason: string, options?: { drain?: boolean }): Promise<void>;
}

export async function startService(
  config: Config,
  logger: Logger = createLogger(config.logLevel, { role: config.role }, resolveLogOutput(config.logFormat)),
  options: ServiceOptions = {},
): Promise<RunningService> {
  // The threads' heartbeats and the requests in flight, shared with the watchdog thread.
  const board = options.stallBoard ?? new StallBoard();
  const services = await createServices(config, logger, undefined, { ...options, stallBoard: board });
  const loop = new EventLoopWatch(config.eventLoopStallMs, logger.child({ component: "event-loop" }), board);
  services.metrics.watchEventLoop(loop.start());
  const lifecycle: Lifecycle = { ready: true, loop };
  const app = createHttpApp(services, lifecycle);
  const server = httpServer(config, app);
  server.maxConnections = config.httpMaxConnections;
  // Closes keep-alive connections only once their answers are flushed (server.close() included).
  const connections = new GracefulConnections(server);
  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await services.close();
    throw error;
  }
  // Responses still being worked on when a shutdown starts: they are told to close their connection.
  const inFlight = new Set<ServerResponse>();
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
  });
  const address = server.address() as AddressInfo;
  const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${address.port}`;
  services.authentication.listening(selfUrl(config.host, address.port));

  const lagTimer = services.processors
    ? setInterval(() => void updateLag(services), 1000).unref()
    : undefined;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string, options: { drain?: boolean } = {}) => {
    shuttingDown ??= (async () => {
      const requestsDeadline = performance.now() + (config.shutdownTimeoutMs * 3) / 4;
      lifecycle.ready = false;
      for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
      const drainMs = options.drain === false ? 0 : config.shutdownDrainMs;
      if (drainMs > 0) {
        // Keep serving (each answer closes its connection) until the gateway has seen /readyz fail
        // and stopped routing here; closing the listener first would refuse or reset its requests.
        logger.info({ reason, drainMs }, "shutting down: not ready, draining before the listener closes");
        await sleep(drainMs);
      }
      logger.info({ reason }, "shutting down: listener closing, finishing in-flight requests");
      // Event streams never finish by themselves: end them, or close() would wait for them.
      services.liveUpdates?.close();
      if (lagTimer) clearInterval(lagTimer);
      await closeListener(server, connections, requestsDeadline - performance.now(), () =>
        logger.warn(
          { inFlight: loop.board.inFlight(), connections: connections.size },
          "shutting down: requests still unanswered at 3/4 of SHUTDOWN_TIMEOUT_MS; closing their connections",
        ),
      );
      logger.info("requests finished; stopping projections and closing stores");
      await services.close();
      await loop.stop();
      logger.info("shutdown complete");
    })();
    return shuttingDown;
  };

  return { services, server, url, loop, shutdown };
}

/**
 * Closes the listener and waits for the requests in flight (idle keep-alive connections closed as
 * they become idle); those still unanswered after `ms` have their connections closed (`late` says so).
 */
async function closeListener(
  server: Server,
  connections: GracefulConnections,
  ms: number,
  late: () => void,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Idle keep-alive connections would hold close() open; busy ones finish their request first.
  const idleSweeper = setInterval(() => connections.closeIdle(), 100);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), Math.max(0, ms));
  });
  if ((await Promise.race([closed, deadline])) === "late") {
    late();
    server.closeAllConnections();
    await closed;
  }
  clearTimeout(timer);
  clearInterval(idleSweeper);
}

async function updateLag(services: Services): Promise<void> {
  try {
    const head = await services.eventStore?.headPosition();
    if (!head) return;
    for (const status of services.processors?.status() ?? []) {
      if (status.lease === "standby") continue; // the holder's process reports its lag
      services.metrics.projectionLag.set(
        { projection: status.name },
        Math.max(0, head.commit - (status.position?.commit ?? 0)),
      );
    }
  } catch {
    // the store is down: keep the last values; /readyz reports the outage
  }
}

/** A URL this process reaches itself at (the embedded issuer's JWKS is fetched from it). */
function selfUrl(host: string, port: number): string {
  if (host === "0.0.0.0") return `http://127.0.0.1:${port}`;
  if (host === "::") return `http://[::1]:${port}`;
  return host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** The port (or address) is taken by another process: said in one line, not as a stack trace. */
export class PortInUseError extends Error {
  override name = "PortInUseError";
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `port ${port} on ${host} is already in use by another process: stop that process or start this one with another PORT`,
    );
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new PortInUseError(host, port) : error);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Node's HTTP server for the app, with the service's timeouts and limits. */
function httpServer(config: Config, app: Express): Server {
  return createServer(
    {
      keepAliveTimeout: config.httpKeepAliveTimeoutMs,
      headersTimeout: config.httpHeadersTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      // Node checks the two timeouts above on this interval, and reads it only here, at creation.
      connectionsCheckingInterval: Math.min(1_000, config.httpHeadersTimeoutMs),
      // Stated rather than left to Node's default: the document promises 431 past it.
      maxHeaderSize: MAX_HEADER_BYTES,
      // Requests and responses built on the app's prototypes: one hidden class for all (issue 50).
      ...expressMessageClasses(app),
    },
    app,
  );
}
