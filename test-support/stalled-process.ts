import { Worker } from "node:worker_threads";
import { EventLoopWatch } from "../platform/event-loop-watch.js";
import { createLogger } from "../platform/logger.js";
import { WATCHED_THREADS } from "../platform/stall-board.js";

/**
 * A process whose request thread blocks for good, as a request handler stuck in a synchronous
 * loop does (platform/event-loop-watch.int.test.ts starts it): the watch and its watchdog thread
 * as app/main.ts starts them, two requests in flight (the blocked one started last), a SIGTERM
 * handler that would exit if it could run, then a loop that never returns. With
 * STALLED_THREAD=processors it is a second thread, beating as the processors thread does, that
 * blocks, while the main thread goes on; with STALLED_THREAD=none nothing blocks for long.
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
/** A thread that beats on the board (as EventLoopWatch does), then blocks for good. */
function blockAnotherThread(): void {
  const processors = WATCHED_THREADS.indexOf("processors");
  const code = `const { workerData } = require("node:worker_threads");
    const heartbeat = new Int32Array(workerData.buffer, 0, ${WATCHED_THREADS.length});
    const timer = setInterval(() => Atomics.add(heartbeat, ${processors}, 1), 50);
    setTimeout(() => { clearInterval(timer); for (;;) {} }, ${Math.min(500, boundMs)});`;
  new Worker(code, { eval: true, workerData: { buffer: watch.board.buffer } });
  process.stdout.write("blocking\n");
  setInterval(() => undefined, 1_000); // the main thread stays free
}

/** This thread blocks for good, once the watchdog has seen a few beats. */
function blockThisThread(): void {
  setTimeout(
    () => {
      process.stdout.write("blocking\n");
      for (;;) {
        // a request handler that never returns to the event loop
      }
    },
    Math.min(500, boundMs),
  );
}

if (process.env.STALLED_THREAD === "processors") blockAnotherThread();
else if (process.env.STALLED_THREAD === "none") {
  // Ready; busy most of the time but never for long (600 ms of every 700), so that a pause of the
  // whole process most likely ends while this thread is busy and has not beaten yet.
  process.stdout.write("blocking\n");
  setInterval(() => {
    const until = performance.now() + 600;
    while (performance.now() < until) {
      // work
    }
  }, 700);
} else blockThisThread();
