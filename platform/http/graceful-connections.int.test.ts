import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { GracefulConnections } from "./graceful-connections.js";

/** Large enough that the kernel's socket buffers cannot take it while the client does not read. */
const BODY = Buffer.alloc(32 * 1024 * 1024, 0x61);

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the server sends until it closes the connection, in bytes. */
function readToEnd(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.once("close", () => resolve(bytes));
    socket.resume();
  });
}

/** A GET whose large answer the client does not read yet: `end()` is called, the bytes wait. */
async function answerNotYetRead(server: Server, port: number): Promise<Socket> {
  const answered = new Promise<void>((resolve) => server.once("request", () => resolve()));
  const socket = await connectTo(port);
  socket.pause();
  socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
  await answered;
  await sleep(100);
  return socket;
}

/** The server sees a connection close a moment after the client does. */
async function openConnections(connections: GracefulConnections, expected: number): Promise<number> {
  for (let i = 0; i < 100 && connections.size !== expected; i++) await sleep(10);
  return connections.size;
}

describe("closing connections at shutdown", () => {
  const servers: Server[] = [];
  const serve = () => {
    const server = createServer((_req, res) => {
      res.setHeader("Content-Length", BODY.length);
      res.end(BODY);
    });
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("Node's own closeIdleConnections cuts off an answer still in the socket's buffer (why this exists)", async () => {
    const server = serve();
    const port = await listen(server);
    const socket = await answerNotYetRead(server, port);
    server.closeIdleConnections();
    const received = await readToEnd(socket);
    expect(received).toBeLessThan(BODY.length);
  });

  it("lets an answer still in the socket's buffer reach the client, then closes the connection", async () => {
    const server = serve();
    const connections = new GracefulConnections(server);
    const port = await listen(server);
    const socket = await answerNotYetRead(server, port);
    // What server.close() does first, and what the shutdown sweep repeats.
    server.closeIdleConnections();
    connections.closeIdle();
    const received = readToEnd(socket);
    const sweeper = setInterval(() => connections.closeIdle(), 20);
    try {
      expect(await received).toBeGreaterThan(BODY.length);
    } finally {
      clearInterval(sweeper);
    }
    expect(await openConnections(connections, 0)).toBe(0);
  });

  it("leaves a connection alone while a request is arriving on it, and closes idle and silent ones", async () => {
    const server = serve();
    const connections = new GracefulConnections(server);
    const port = await listen(server);
    const silent = await connectTo(port);
    const arriving = await connectTo(port);
    arriving.write("GET / HTTP/1.1\r\nHost: te");
    await sleep(50);
    const silentClosed = new Promise((resolve) => silent.once("close", resolve));
    connections.closeIdle();
    await silentClosed;
    expect(arriving.destroyed).toBe(false);
    expect(await openConnections(connections, 1)).toBe(1);
    // The rest of the request comes: it is answered in full, and then the connection is closed.
    const received = readToEnd(arriving);
    arriving.write("st\r\n\r\n");
    const sweeper = setInterval(() => connections.closeIdle(), 20);
    try {
      expect(await received).toBeGreaterThan(BODY.length);
    } finally {
      clearInterval(sweeper);
    }
  });
});
