import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Config } from "../platform/config.js";
import { createLogger, type Logger } from "../platform/logger.js";
import type { Lifecycle } from "./health.js";
import { createHttpApp } from "./http-app.js";
import { createServices, type Services } from "./services.js";

export interface RunningService {
  readonly services: Services;
  readonly server: Server;
  readonly url: string;
  /** Graceful stop: not ready, finish in-flight requests, stop workers (checkpoints saved), close stores. */
  shutdown(reason: string): Promise<void>;
}

export async function startService(
  config: Config,
  logger: Logger = createLogger(config.logLevel, { role: config.role }),
): Promise<RunningService> {
  const services = await createServices(config, logger);
  const lifecycle: Lifecycle = { ready: true };
  const app = createHttpApp(services, lifecycle);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once("error", reject);
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  // Node counts a connection that has not sent a byte yet as busy (its headersTimeout guard), so
  // closeIdleConnections() leaves it open and it would hold close() until SHUTDOWN_TIMEOUT_MS.
  const connections = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.once("close", () => connections.delete(socket));
  });
  const closeIdleConnections = () => {
    server.closeIdleConnections();
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  };
  const address = server.address() as AddressInfo;
  const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${address.port}`;

  const lagTimer = services.processors
    ? setInterval(() => void updateLag(services), 1000).unref()
    : undefined;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    shuttingDown ??= (async () => {
      logger.info({ reason }, "shutting down: no longer ready, finishing in-flight requests");
      lifecycle.ready = false;
      // Event streams never finish by themselves: end them, or close() would wait for them.
      services.liveUpdates?.close();
      if (lagTimer) clearInterval(lagTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections would hold close() open; busy ones finish their request first.
      const idleSweeper = setInterval(closeIdleConnections, 100);
      closeIdleConnections();
      await closed;
      clearInterval(idleSweeper);
      logger.info("requests finished; stopping projections and closing stores");
      await services.close();
      logger.info("shutdown complete");
    })();
    return shuttingDown;
  };

  return { services, server, url, shutdown };
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
