import { createServer } from "node:http";

/**
 * The webhook receivers of the webhooks bench, as their own process (PORT): `/hooks/slow` answers
 * after 5 s, every other `/hooks/{name}` at once; each records when it got each reservation's
 * `reservation.reserved` (wall clock, ms). `GET /records` gives them, `POST /reset` clears them.
 * It does not verify signatures (the e2e receiver does): it measures when messages arrive.
 */
const SLOW_MS = 5_000;
let records: Record<string, Record<string, number>> = {};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = Date.now();
    if (req.url === "/healthz") return void res.writeHead(200).end("ok");
    if (req.url === "/records") return void res.writeHead(200).end(JSON.stringify(records));
    if (req.url === "/reset") {
      records = {};
      return void res.writeHead(204).end();
    }
    const hook = /^\/hooks\/([a-z0-9-]+)$/.exec(req.url ?? "");
    if (!hook) return void res.writeHead(404).end();
    const name = hook[1] as string;
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      data: { reservationId?: string };
    };
    const id = message.data.reservationId;
    if (id) {
      records[name] ??= {};
      const seen = records[name] as Record<string, number>;
      seen[id] ??= at;
    }
    if (name === "slow") setTimeout(() => res.writeHead(200).end("ok"), SLOW_MS);
    else res.writeHead(200).end("ok");
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1");
