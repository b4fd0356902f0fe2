import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Closes an HTTP server's keep-alive connections at shutdown without cutting an answer short.
 *
 * Node's own `server.closeIdleConnections()` (which `server.close()` also calls) destroys every
 * connection whose request has been read and whose response has been `end()`ed. But `end()` only
 * hands the bytes to the socket: when the peer reads slowly (a gateway under load), part of the
 * answer can still sit in the socket's buffer, and `destroy()` throws it away. The peer then sees
 * a truncated response ("other side closed") for a request the service had answered.
 *
 * Here a connection is closed only when it is really idle: no response under way on it, and no
 * byte of a next request received since its last answer. It is closed with `end()`, which flushes
 * what was written before the FIN. A connection that never sent a byte (a gateway's spare or a
 * health probe's preconnect) is destroyed at once: it holds no request, and Node would otherwise
 * keep it open until its headers timeout. A peer that does not close its side within
 * `halfCloseGraceMs` of our FIN, with nothing left to flush, is destroyed.
 */
export class GracefulConnections {
  private readonly connections = new Set<Socket>();
  /** Responses not yet finished, per connection (more than one only with pipelining). */
  private readonly answering = new Map<Socket, number>();
  /** `bytesRead` when the connection's last response finished: more since means a request is arriving. */
  private readonly readWhenIdle = new Map<Socket, number>();
  private readonly endedAt = new Map<Socket, number>();

  constructor(
    server: Server,
    private readonly halfCloseGraceMs = 2_000,
  ) {
    server.on("connection", (socket: Socket) => {
      this.connections.add(socket);
      socket.once("close", () => {
        this.connections.delete(socket);
        this.answering.delete(socket);
        this.readWhenIdle.delete(socket);
        this.endedAt.delete(socket);
      });
    });
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      this.answering.set(socket, (this.answering.get(socket) ?? 0) + 1);
      let done = false;
      const finished = () => {
        if (done) return;
        done = true;
        const left = (this.answering.get(socket) ?? 1) - 1;
        if (left > 0) this.answering.set(socket, left);
        else this.answering.delete(socket);
        this.readWhenIdle.set(socket, socket.bytesRead);
      };
      // Plain listeners, not once()'s wrappers: finished does its work once whichever comes first.
      res.on("finish", finished);
      res.on("close", finished);
    });
    // server.close() calls this before it stops listening; make that call graceful too.
    server.closeIdleConnections = () => this.closeIdle();
  }

  /** Connections open now. */
  get size(): number {
    return this.connections.size;
  }

  /** Closes every connection that is idle now; call it repeatedly while the server drains. */
  closeIdle(now = Date.now()): void {
    for (const socket of this.connections) {
      if (socket.bytesRead === 0) {
        socket.destroy();
        continue;
      }
      if (this.answering.has(socket)) continue;
      // A request is arriving (its first bytes are in, its headers not yet): let it be answered.
      if (socket.bytesRead !== this.readWhenIdle.get(socket)) continue;
      const ended = this.endedAt.get(socket);
      if (ended === undefined) {
        this.endedAt.set(socket, now);
        socket.end();
      } else if (now - ended >= this.halfCloseGraceMs && socket.writableLength === 0) {
        socket.destroy();
      }
    }
  }
}
