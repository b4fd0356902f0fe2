import { execFile } from "node:child_process";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { expressMessageClasses } from "./express-messages.js";

const FIXTURE = fileURLToPath(new URL("../../test-support/fixtures/express-shapes.ts", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("requests and responses built on an Express app's prototypes", () => {
  /** The fixture's answer: whether two held requests (and responses) share their maps. */
  const sameMaps = async (mode: "classes" | "node") => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--allow-natives-syntax", "--import", "tsx", FIXTURE, mode],
      { cwd: PROJECT_ROOT, timeout: 30_000 },
    );
    return JSON.parse(stdout) as { req: boolean; res: boolean };
  };

  it("give every request one hidden class: two requests in flight at the same point share their maps", async () => {
    expect(await sameMaps("classes")).toEqual({ req: true, res: true });
  });

  it.runIf(process.versions.node.startsWith("20."))(
    "are what keeps them one class on Node 20: with Node's own classes its V8 gives each request and response maps of their own",
    async () => {
      // The control of the check above: it tells the two apart on the line that has the flaw (Node
      // 24's V8 keeps the map whichever classes build the requests).
      expect(await sameMaps("node")).toEqual({ req: false, res: false });
    },
  );

  it("keep Express's request and response as they were, through their server and through any other", async () => {
    const app = express();
    app.get("/lots/:id", (req, res) => {
      res.status(200).json({
        id: req.params.id,
        accept: req.get("accept"),
        app: req.app === app && res.app === app,
        node: req instanceof IncomingMessage && res instanceof ServerResponse,
        // Express set the prototype it already had.
        prototypes: Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response,
      });
    });
    const classes = expressMessageClasses(app);
    const expected = { id: "7", accept: "application/json", app: true, node: true, prototypes: true };

    const server = createServer(classes, app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/lots/7`;
      const answer = await fetch(url, { headers: { accept: "application/json" } });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual(expected);
    } finally {
      server.close();
      server.closeAllConnections();
    }
    // A server of Node's own classes (supertest's): Express gives them the same prototypes.
    const other = await request(app).get("/lots/7").set("accept", "application/json");
    expect(other.body).toEqual(expected);
  });
});
