import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { eventually } from "./service.js";

/** Debian's haproxy, running the project's gateway (deploy/gateway/haproxy.cfg). */
export const HAPROXY = "/usr/sbin/haproxy";

/** The real gateway config with its DNS-discovered slots replaced by loopback servers. */
export function gatewayConfig(ports: {
  front: number;
  stats: number;
  command: readonly number[];
  query: readonly number[];
}): string {
  const source = readFileSync(new URL("../deploy/gateway/haproxy.cfg", import.meta.url), "utf8");
  const servers = (name: string, list: readonly number[]) =>
    list.map((port, i) => `  server ${name}${i + 1} 127.0.0.1:${port} check`).join("\n");
  const replaced = source
    .replace(/^\s*#.*\n/gm, "")
    .replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, "")
    .replace(/^ {2}server-template query-api .*$/m, servers("query-api", ports.query))
    .replace(/^ {2}server-template command-api .*$/m, servers("command-api", ports.command))
    .replace(/^ {2}bind :8080$/m, `  bind 127.0.0.1:${ports.front}`);
  expect(replaced, "every slot and the bind were replaced").not.toMatch(
    /server-template|bind :8080|resolvers/,
  );
  return `${replaced}\nlisten stats\n  bind 127.0.0.1:${ports.stats}\n  stats enable\n  stats uri /stats\n`;
}

/** The gateway's view of one server: "UP", "DOWN", "MAINT"... from the stats CSV. */
export async function serverStatus(
  statsPort: number,
  backend: string,
  server: string,
): Promise<string | undefined> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
  for (const line of csv.split("\n")) {
    const cells = line.split(",");
    if (cells[0] === backend && cells[1] === server) return cells[17];
  }
  return undefined;
}

/** The gateway in front of `command` and `query` servers (loopback ports), until `stop`. */
export async function startGateway(
  dir: string,
  ports: { front: number; stats: number; command: readonly number[]; query: readonly number[] },
): Promise<{ base: string; process: ChildProcess; output: () => string }> {
  const configFile = join(dir, "haproxy.cfg");
  writeFileSync(configFile, gatewayConfig(ports));
  let output = "";
  const gateway = spawn(HAPROXY, ["-f", configFile, "-db"], { stdio: ["ignore", "pipe", "pipe"] });
  gateway.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  gateway.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  const servers = [
    ...ports.command.map((_, i) => ["command_api", `command-api${i + 1}`] as const),
    ...ports.query.map((_, i) => ["query_api", `query-api${i + 1}`] as const),
  ];
  for (const [backend, server] of servers)
    await eventually(
      async () => ((await serverStatus(ports.stats, backend, server)) === "UP" ? true : undefined),
      20_000,
      `${backend}/${server} UP at the gateway`,
    ).catch((error: Error) => {
      gateway.kill("SIGKILL");
      throw new Error(`${error.message}\ngateway output:\n${output}`);
    });
  return { base: `http://127.0.0.1:${ports.front}`, process: gateway, output: () => output };
}
