import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

/**
 * Preloaded (`--import`) into a process the benchmark measures when it runs with --profile:
 * SIGUSR2 starts the V8 CPU profiler, the next SIGUSR2 stops it and writes
 * `$BENCH_CPU_PROFILE.<pid>.<n>.cpuprofile`. So a profile covers exactly the measured window (not the
 * start-up, the seeding or the warm-up) of the real process, with no change to the product.
 */
const prefix = process.env.BENCH_CPU_PROFILE;
if (prefix) {
  const session = new Session();
  session.connect();
  let running = false;
  let busy = false;
  let written = 0;
  process.on("SIGUSR2", () => {
    if (busy) return;
    busy = true;
    if (!running) {
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: 500 }, () =>
          session.post("Profiler.start", () => {
            running = true;
            busy = false;
          }),
        ),
      );
      return;
    }
    session.post("Profiler.stop", (error, result) => {
      running = false;
      busy = false;
      if (error) {
        process.stderr.write(`profile-hook: ${error.message}\n`);
        return;
      }
      writeFileSync(`${prefix}.${process.pid}.${++written}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
