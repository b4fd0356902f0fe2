import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A load balancer for Stripe's webhooks in front of several replicas of the service: each
 * delivery goes to the next replica in turn, and to another when that one cannot be reached (a
 * replica killed -9), as a load balancer's retry of a connection that could not be made does. The
 * answer (status and body) is the replica's; 502 when none could be reached (Stripe retries it).
 */
export interface Balancer {
  readonly url: string;
  /** How many deliveries each replica answered (by its base URL). */
  answered(): Record<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(replicas: () => readonly string[]): Promise<Balancer> {
  let next = 0;
  const answered: Record<string, number> = {};
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "stripe-signature", "user-agent"]) {
      const value = req.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const targets = replicas();
    for (let tried = 0; tried < targets.length; tried++) {
      const target = targets[next++ % targets.length] as string;
      try {
        const answer = await fetch(`${target}${req.url ?? "/"}`, {
          method: req.method ?? "POST",
          headers,
          body,
        });
        const text = await answer.text();
        answered[target] = (answered[target] ?? 0) + 1;
        res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
        res.end(text);
        return;
      } catch {
        // not reachable: the next replica
      }
    }
    res.writeHead(502).end("no replica reachable");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answered: () => ({ ...answered }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
