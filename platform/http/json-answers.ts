import type { Express, Response } from "express";

/**
 * Express's `res.json` for the answers to commands, without its generic work: for a request that is
 * not a GET or HEAD (never fresh, never cached, a body always sent) whose answer has no Content-Type
 * or Transfer-Encoding yet and a status that carries a body, express's json and send come down to
 * the JSON text, its Content-Type with charset and its Content-Length, then `end`; here that is
 * written directly. Every other answer (GET and HEAD with their freshness, 204/205/304, a type set
 * before, the app's json settings or ETags turned on) goes to express's own. Express's own
 * (app.response, documented as the prototype of the app's responses) is replaced for this app only.
 *
 * Why (issue 50): express's json looked the app's settings up three times and set the Content-Type
 * twice, each time parsing it and looking its charset up again.
 */
export function directJsonAnswers(app: Express): void {
  const generic = app.response.json;
  const direct = ["json escape", "json replacer", "json spaces", "etag fn"].every(
    (setting) => app.get(setting) === undefined,
  );
  if (!direct)
    throw new Error("directJsonAnswers: the app's json settings or ETags are on; keep express's res.json.");
  app.response.json = function json(this: Response, body: unknown) {
    const method = this.req.method;
    const status = this.statusCode;
    if (
      method === "GET" ||
      method === "HEAD" ||
      status === 204 ||
      status === 205 ||
      status === 304 ||
      this.hasHeader("content-type") ||
      this.hasHeader("transfer-encoding")
    )
      return generic.call(this, body);
    const text = JSON.stringify(body);
    if (text === undefined) return generic.call(this, body);
    this.setHeader("Content-Type", "application/json; charset=utf-8");
    this.setHeader("Content-Length", String(Buffer.byteLength(text, "utf8")));
    this.end(text, "utf8");
    return this;
  };
}
