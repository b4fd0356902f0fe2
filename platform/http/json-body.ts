import type { RequestHandler } from "express";
import { isPlainJson, utf8BodyText } from "./middleware.js";

/**
 * The JSON body of the common request read directly: `Content-Type: application/json` (charset
 * UTF-8 or none), a `Content-Length` from 1 to `limit` bytes, no `Content-Encoding` and no
 * `Transfer-Encoding`. Every other request (compressed, chunked, another type or charset, empty,
 * too large) goes to `fallback`, the body parser, which answers each of those cases. Answers as the
 * body parser configured with `strict` and the `verifyUtf8Body` hook does: the body as received is
 * kept (rawBodyOf), bytes that are not UTF-8 are a 400 malformed-json, and text that is not a JSON
 * object or array is its `entity.parse.failed` error carrying the text.
 *
 * Why (issue 50): for a command's small body the body parser's own work (content-type parsing and
 * matching three times, charset and encoding lookups, a decoder for the text, the hook decoding it
 * a second time) cost as much as reading and parsing it.
 */
export function jsonBodies(limit: number, fallback: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const { headers } = req;
    const length = contentLength(headers["content-length"]);
    if (
      length === undefined ||
      length > limit ||
      headers["transfer-encoding"] !== undefined ||
      headers["content-encoding"] !== undefined ||
      !isPlainJson(headers["content-type"]) ||
      req.readableEnded
    )
      return fallback(req, res, next);
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      next(error);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = () => {
      // Node's parser reads no byte past Content-Length: fewer means the request ended early.
      if (received !== length)
        return settle(requestError("request size did not match content length", "request.size.invalid"));
      try {
        req.body = parsedJson(
          utf8BodyText(req, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received)),
        );
      } catch (error) {
        return settle(error);
      }
      settle();
    };
    const onError = (error: unknown) =>
      settle(requestError(String((error as Error)?.message ?? error), "request.aborted"));
    const onClose = () => settle(requestError("request aborted", "request.aborted"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  };
}

/** A Content-Length of 1 or more written as plain digits, else undefined. */
function contentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,9}$/.test(value)) return undefined;
  const length = Number(value);
  return length > 0 ? length : undefined;
}

/** A JSON object or array, as the body parser's strict mode parses it: anything else its parse error. */
function parsedJson(text: string): unknown {
  const first = text[0] === "{" || text[0] === "[" ? text[0] : /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  if (first === "{" || first === "[") {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw parseError((error as Error).message, text);
    }
  }
  throw parseError(`Unexpected token ${first ?? "end of input"} in JSON`, text);
}

/** The body parser's error for text that is not a JSON object or array (errorHandler reads `type` and `body`). */
const parseError = (message: string, body: string) =>
  Object.assign(new SyntaxError(message), {
    status: 400,
    statusCode: 400,
    expose: true,
    type: "entity.parse.failed",
    body,
  });

/** The body parser's error for a request whose body could not be read. */
const requestError = (message: string, type: string) =>
  Object.assign(new Error(message), { status: 400, statusCode: 400, expose: true, type });
