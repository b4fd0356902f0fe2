import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

/**
 * A webhook receiver as an integrator would write one, run as its own process (PORT,
 * RECORD_FILE): it verifies every message with the `standardwebhooks` package against each secret
 * it was given for the path's endpoint, and records what it got (one JSON line per message, so
 * the record outlives a kill). `POST /control/{name}` sets an endpoint's secrets and behaviour:
 * `statuses` to answer in turn (then 200), `delayMs` before each answer.
 */
interface Behaviour {
  secrets: string[];
  statuses: number[];
  delayMs: number;
}

const behaviours = new Map<string, Behaviour>();
const file = process.env.RECORD_FILE;
if (!file) throw new Error("RECORD_FILE is required");

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const control = /^\/control\/([a-z0-9-]+)$/.exec(req.url ?? "");
    if (control && req.method === "POST") {
      const set = JSON.parse(body) as Partial<Behaviour>;
      behaviours.set(control[1] as string, { secrets: [], statuses: [], delayMs: 0, ...set });
      res.writeHead(204).end();
      return;
    }
    const hook = /^\/hooks\/([a-z0-9-]+)$/.exec(req.url ?? "");
    const behaviour = hook ? behaviours.get(hook[1] as string) : undefined;
    if (!hook || !behaviour) {
      res.writeHead(404).end();
      return;
    }
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const verified = behaviour.secrets.map((secret) => {
      try {
        new Webhook(secret).verify(body, headers);
        return true;
      } catch {
        return false;
      }
    });
    const status = verified.some(Boolean) ? (behaviour.statuses.shift() ?? 200) : 401;
    const message = (() => {
      try {
        return JSON.parse(body) as { type: string; timestamp: string; data: unknown };
      } catch {
        return undefined;
      }
    })();
    setTimeout(() => {
      appendFileSync(
        file,
        `${JSON.stringify({
          endpoint: hook[1],
          webhookId: headers["webhook-id"],
          signatures: headers["webhook-signature"].split(" ").length,
          verified,
          status,
          ...message,
          receivedAt: Date.now(),
        })}\n`,
      );
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no");
    }, behaviour.delayMs);
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  process.stdout.write("listening\n");
});
