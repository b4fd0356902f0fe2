import type { AddressInfo } from "node:net";
import express from "express";

/**
 * The HTTP ceiling: a bare express 5 app that parses the same JSON body as the reserve endpoint
 * and answers 201 with a body of the same shape, doing nothing else. Run as its own process
 * (PORT, HOST) so that it is measured exactly as the service is.
 */
const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.use(express.json({ limit: "16kb" }));

let counter = 0;
app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
app.post("/parking-lots/:parkingLotId/reservations", (req, res) => {
  const body = req.body as { customerId?: string; carNumber?: string; amount?: number };
  const reservationId = `ceiling-${++counter}`;
  res
    .status(201)
    .location(`/reservations/${reservationId}`)
    .json({
      reservationId,
      parkingLotId: req.params.parkingLotId,
      customerId: body.customerId,
      carNumber: body.carNumber,
      amount: body.amount,
      status: "RESERVED",
      position: String(counter),
    });
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`ceiling server on ${port}\n`);
});
server.keepAliveTimeout = 5_000;
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
