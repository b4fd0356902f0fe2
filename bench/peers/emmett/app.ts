import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { expressMessageClasses } from "../../../platform/http/express-messages.js";
import { type LotCommand, Refused } from "./decider.js";

/** What a peer's command handler answers: the global position of the lot's last event. */
export interface Executed {
  readonly lastEventGlobalPosition: bigint | number;
}

/**
 * The peers' HTTP side, shared by the SQLite peer (server.ts) and the PostgreSQL one
 * (../emmett-postgresql/server.ts): the service's register and reserve endpoints with the same
 * request and response shapes, over `execute` (the peer's Emmett command handler), served on PORT
 * and HOST. `prototypes`: requests built on the app's prototypes as the service's are
 * (`expressMessageClasses`: on Node 20 a bare Express app gives every request hidden classes of its own).
 */
export function servePeer(
  label: string,
  execute: (lotId: string, command: LotCommand) => Promise<Executed>,
  prototypes: boolean,
): void {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(express.json({ limit: "16kb" }));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.post("/parking-lots", async (req, res, next) => {
    try {
      const body = req.body as { parkingLotId?: string; name: string; capacity: number };
      const parkingLotId = body.parkingLotId ?? randomUUID();
      const result = await execute(parkingLotId, {
        type: "RegisterLot",
        data: { parkingLotId, name: body.name, capacity: body.capacity },
      });
      res
        .status(201)
        .location(`/parking-lots/${parkingLotId}`)
        .json({
          parkingLotId,
          name: body.name,
          capacity: body.capacity,
          position: String(result.lastEventGlobalPosition),
        });
    } catch (error) {
      next(error);
    }
  });

  app.post("/parking-lots/:parkingLotId/reservations", async (req, res, next) => {
    try {
      const parkingLotId = req.params.parkingLotId as string;
      const body = req.body as { customerId: string; carNumber: string; amount: number };
      const reservationId = randomUUID();
      const result = await execute(parkingLotId, {
        type: "Reserve",
        data: { parkingLotId, reservationId, ...body, now: new Date().toISOString() },
      });
      res
        .status(201)
        .location(`/reservations/${reservationId}`)
        .json({
          reservationId,
          parkingLotId,
          customerId: body.customerId,
          carNumber: body.carNumber,
          amount: body.amount,
          status: "RESERVED",
          position: String(result.lastEventGlobalPosition),
        });
    } catch (error) {
      next(error);
    }
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof Refused) {
      res
        .status(error.status)
        .type("application/problem+json")
        .json({ title: error.message, status: error.status });
      return;
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    res.status(500).type("application/problem+json").json({ title: "internal error", status: 500 });
  });

  const server = createServer(prototypes ? expressMessageClasses(app) : {}, app);
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stderr.write(`${label} on ${port}\n`);
  });
  server.keepAliveTimeout = 5_000;
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
