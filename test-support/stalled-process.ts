import { EventLoopWatch } from "../platform/event-loop-watch.js";
import { createLogger } from "../platform/logger.js";

/**
 * A process whose request thread blocks for good, as a request handler stuck in a synchronous
 * loop does (platform/event-loop-watch.int.test.ts starts it): the watch and its watchdog thread
 * as app/main.ts starts them, two requests in flight (the blocked one started last), a SIGTERM
 * handler that would exit if it could run, then a loop that never returns.
 */
const boundMs = Number(process.env.EVENT_LOOP_STALL_MS ?? "1000");
const logger = createLogger("info", { role: "test" }, "json");
const watch = new EventLoopWatch(boundMs, logger).start();
await watch.startWatchdog({ level: "info", output: "json", base: { role: "test" } });
watch.board.enter("GET /parking-lots");
const done = watch.board.enter("GET /parking-lots/{parkingLotId}");
done(); // answered: not in flight any more
watch.board.enter("GET /reservations");
process.on("SIGTERM", () => process.exit(0));
// Let the watchdog see a few beats first, then block the thread.
setTimeout(
  () => {
    process.stdout.write("blocking\n");
    for (;;) {
      // a request handler that never returns to the event loop
    }
  },
  Math.min(500, boundMs),
);
