import { IncomingMessage, ServerResponse } from "node:http";
import type { Express } from "express";

/**
 * Node's request and response classes for an Express app's server, built on the app's own
 * prototypes (`app.request`, `app.response`), so that every request starts with its methods and
 * Express's per-request `Object.setPrototypeOf` changes nothing (issue 50).
 *
 * Why: Express gives each request and response the app's prototype by `Object.setPrototypeOf`,
 * after Node has built them. V8 then moves the object to a map outside its transition tree, and
 * every property added afterwards (`req.next`, `req.params`, `res.locals`, ours) builds a fresh
 * map instead of following a cached transition. Each request thus had hidden classes of its own:
 * every property access that saw it, in Express, in our middleware and in Node's own HTTP code,
 * went megamorphic and missed V8's caches (`Runtime_LoadIC_Miss` and the store misses took ~14% of
 * the request thread's samples under the reserve load). Built by these classes, a request has the
 * prototype from its construction, Express's `setPrototypeOf` to the same prototype is a no-op,
 * and the properties added follow one transition chain shared by all requests.
 *
 * The prototypes keep Express's chain (request → Express's request methods → IncomingMessage),
 * and `app.request` / `app.response` become them, so that a request reaching the app through any
 * other server (tests' `supertest(app)`) gets the same prototype as before, by Express's own call.
 */
export function expressMessageClasses(app: Express): {
  readonly IncomingMessage: typeof IncomingMessage;
  readonly ServerResponse: typeof ServerResponse;
} {
  class AppRequest extends IncomingMessage {}
  class AppResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  adopt(AppRequest.prototype, app.request);
  adopt(AppResponse.prototype, app.response);
  app.request = AppRequest.prototype as Express["request"];
  app.response = AppResponse.prototype as Express["response"];
  return { IncomingMessage: AppRequest, ServerResponse: AppResponse };
}

/** Makes `target` stand where `prototype` stood: the same parent and the same own properties. */
function adopt(target: object, prototype: object): void {
  Object.setPrototypeOf(target, Object.getPrototypeOf(prototype));
  Object.defineProperties(target, Object.getOwnPropertyDescriptors(prototype));
}
