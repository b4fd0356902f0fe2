import { setTimeout as sleep } from "node:timers/promises";
import { type ServiceProcess, spawnService } from "./process.js";
import { call, eventually } from "./service.js";

/**
 * Spawned services of one test file. `start` spawns (via spawnService) and remembers; `killAll`
 * (for afterEach) SIGKILLs whatever still runs and waits until it is gone, so no test leaves a
 * process behind.
 */
export function serviceProcesses() {
  const running: ServiceProcess[] = [];
  return {
    async start(env: Record<string, string>, options: { readyTimeoutMs?: number } = {}) {
      const service = await spawnService(env, options);
      running.push(service);
      return service;
    },
    async killAll(): Promise<void> {
      for (const service of running.splice(0)) {
        if (service.child.exitCode === null && service.child.signalCode === null) {
          service.child.kill("SIGKILL");
        }
        await Promise.race([service.exited, sleep(5_000)]);
      }
    },
  };
}

/** Resolves with the exit code (or signal) of a process, or rejects once `ms` have passed. */
export function exitWithin(service: ServiceProcess, ms: number): Promise<number | string> {
  return Promise.race([
    service.exited,
    sleep(ms).then(() => {
      throw new Error(`process did not exit within ${ms} ms:\n${service.output().slice(-4000)}`);
    }),
  ]);
}

export interface ProjectionStatusView {
  readonly name: string;
  readonly state: string;
  readonly position: string | null;
  readonly headPosition: string | null;
  readonly lag: number | null;
}

/**
 * Waits until the control center shows every projection and the coupon policy running at the
 * head of the log (lag 0), and returns that snapshot.
 */
export function projectionsAtHead(base: string, timeoutMs = 20_000): Promise<ProjectionStatusView[]> {
  return eventually(
    async () => {
      const { status, body } = await call<{ projections: ProjectionStatusView[] }>(
        base,
        "GET",
        "/control-center",
      );
      if (status !== 200) return undefined;
      const { projections } = body;
      const atHead =
        projections.length > 0 &&
        projections.every((p) => p.state === "running" && p.lag === 0 && p.headPosition !== null);
      return atHead ? projections : undefined;
    },
    timeoutMs,
    "every projection and the coupon policy at the head (lag 0)",
  );
}
