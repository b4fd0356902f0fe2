import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RemoteStripeServer } from "./control.js";

/**
 * The Stripe-contract server as a child process (cli.ts), for tests that kill -9 it and start it
 * again on the same ports (with STATE_FILE its intents and idempotent answers survive).
 */
export interface StripeServerProcess {
  readonly child: ChildProcess;
  readonly server: RemoteStripeServer;
  readonly exited: Promise<number | string>;
  readonly output: () => string;
}

const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const started = new Set<ChildProcess>();

export async function spawnStripeServer(env: {
  PORT: string;
  CONTROL_PORT: string;
  WEBHOOK_URL?: string;
  WEBHOOK_SECRET?: string;
  STATE_FILE?: string;
}): Promise<StripeServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "test-support/stripe/cli.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  let output = "";
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      started.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  const ready = new Promise<RemoteStripeServer>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = /stripe-server (\S+) control (\S+)/.exec(output);
      if (line) resolve(new RemoteStripeServer(line[1] as string, line[2] as string));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    void exited.then(() => reject(new Error(`stripe server exited during start:\n${output}`)));
  });
  const server = await ready;
  return { child, server, exited, output: () => output };
}

/** SIGKILLs every server process this module started (for afterEach). */
export async function killStripeServers(): Promise<void> {
  const all = [...started];
  for (const child of all) child.kill("SIGKILL");
  await Promise.all(
    all.map(
      (child) =>
        new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve))),
    ),
  );
}
