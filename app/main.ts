import { ConfigError, loadConfig, redactConfig } from "../platform/config.js";
import { createLogger } from "../platform/logger.js";
import { PortInUseError, startService } from "./server.js";

/** Entry point: validate configuration, start the role, and shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { role: config.role });
  const service = await startService(config, logger);
  logger.info({ config: redactConfig(config), url: service.url }, "started");
  if (process.stdout.isTTY || process.env.npm_lifecycle_event === "start") {
    const api = config.role === "projector" ? "" : ` API docs ${service.url}/docs ·`;
    process.stderr.write(
      `\nParking reservations (${config.role}) listening on ${service.url} ·${api} control center ${service.url}/control-center · health ${service.url}/readyz · metrics ${service.url}/metrics\n\n`,
    );
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, "graceful shutdown timed out; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    // Ctrl-C is a person at a terminal, not a load balancer: no drain.
    service.shutdown(signal, { drain: signal !== "SIGINT" }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((error: unknown) => {
  if (error instanceof PortInUseError) {
    process.stderr.write(`failed to start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
