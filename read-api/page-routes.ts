import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import express, { type NextFunction, type Request, type Response, Router } from "express";
import { principalOf } from "../platform/auth/principal.js";
import type { SignInConfig } from "../platform/auth/sign-in-schemas.js";
import { ProblemError } from "../platform/http/problem.js";
import { reachOf } from "../schemas/actor.js";
import { type LiveUpdates, processCapReached } from "./live-updates.js";

/** The control-center web page, served by the service itself (no CDN), built by `npm run build`. */

/** Where the built page lives (found the same way from source or from dist/), or undefined when not built. */
export function findWebDir(): string | undefined {
  const candidates = [new URL("../web/", import.meta.url), new URL("../dist/web/", import.meta.url)];
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate);
    if (existsSync(`${dir}control-center.html`) && existsSync(`${dir}assets`)) return dir;
  }
  return undefined;
}

/** The page's icon. */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#1d4ed8"/><path d="M22 50V14h13a11 11 0 0 1 0 22h-6v14z" fill="#fff"/><path d="M29 21v8h6a4 4 0 0 0 0-8z" fill="#1d4ed8"/></svg>';

/** Whether the caller prefers a web page to JSON (a browser's navigation, not fetch() or curl). */
export const wantsHtml = (req: Request): boolean =>
  req.accepts(["application/json", "text/html"]) === "text/html";

/** Who is looking at the page: only operators see it; everyone else gets the sign-in screen. */
export type Viewer = "operator" | "signed-in" | "anonymous";

export interface PageRoutesOptions {
  readonly webDir: string | undefined;
  readonly liveUpdates: LiveUpdates | undefined;
  readonly signIn: SignInConfig;
  readonly viewerOf: (req: Request) => Viewer;
  /** Whether a request's browser session is still live (a stream ends when it is not); see app/auth.ts. */
  readonly sessionCheck?: (req: Request) => (() => Promise<boolean>) | undefined;
}

/**
 * Headers of the page's HTML. The page loads only its own bundle and calls its own origin; with an
 * external OpenID Connect provider it also fetches the provider's discovery document and token
 * endpoint (Authorization Code + PKCE), so that origin is allowed to be connected to, and no other.
 */
export function htmlHeaders(signIn: SignInConfig): Record<string, string> {
  const connect = signIn.mode === "oidc" ? `'self' ${new URL(signIn.issuer).origin}` : "'self'";
  return {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": `default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src ${connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}

/** The page's handlers, each serving one row of operations.ts (GET /control-center's HTML half included). */
export function pageHandlers(options: PageRoutesOptions) {
  const { webDir, liveUpdates } = options;
  const headers = htmlHeaders(options.signIn);

  const sendPage = (res: Response, file: string, status = 200) => {
    if (!webDir) {
      throw new ProblemError(
        "service-unavailable",
        "The control-center page is not built; run `npm run build` (npm start does it for you).",
        { retryAfterSeconds: 60 },
      );
    }
    res.status(status).set(headers).type("html").sendFile(`${webDir}${file}`);
  };

  return {
    getLandingPage: (req: Request, res: Response) => {
      if (wantsHtml(req)) return sendPage(res, "index.html");
      res.json({
        links: {
          controlCenter: "/control-center",
          docs: "/docs",
          openapi: "/openapi.json",
          health: "/healthz",
          readiness: "/readyz",
        },
      });
    },

    /** GET /control-center for a browser: the page for an operator, else the sign-in screen. */
    controlCenterPage: (req: Request, res: Response) => {
      const viewer = options.viewerOf(req);
      if (viewer === "operator") return sendPage(res, "control-center.html");
      // The sign-in screen says why (signed out, or not an operator) and how to sign in.
      if (viewer === "anonymous") res.setHeader("WWW-Authenticate", 'Bearer realm="parking-reservations"');
      sendPage(res, "sign-in.html", viewer === "anonymous" ? 401 : 403);
    },

    getSignInConfig: (_req: Request, res: Response<SignInConfig>) => {
      res.set("Cache-Control", "no-cache").json(options.signIn);
    },

    // The page's live updates, within the caps of the process and of each caller (a refusal says
    // when). Only operators get here (the access tables); the cap counts streams by the token's
    // subject, and each sees the lots it reaches.
    streamControlCenterEvents: (req: Request, res: Response) => {
      const principal = principalOf(req);
      const owner = principal?.sub ?? "";
      // A process without live updates serves no stream: its cap is 0.
      if (!liveUpdates) throw processCapReached(0);
      const refusal = liveUpdates.refusal(owner);
      if (refusal) throw refusal;
      liveUpdates.open(req, res, owner, principal && reachOf(principal), options.sessionCheck?.(req));
    },

    // Every browser asks for it, signed in or not: a "P" on the brand's blue, as SVG (no build needed).
    getFavicon: (_req: Request, res: Response) => {
      res.set("Cache-Control", "public, max-age=86400").type("image/svg+xml").send(FAVICON);
    },
  };
}

/**
 * The page's bundled assets (not operations of the API). Vite names every asset by its content
 * hash, so a year of caching is safe. Without a build, every asset is a 404 (and the page itself
 * says how to build it).
 */
export function assetRoutes(webDir: string | undefined): Router {
  const router = Router();
  router.use(
    "/assets",
    webDir
      ? [
          // The same public files for everyone: a signed-in caller's no-store (set at the edge) does
          // not apply, and express.static sets its year of caching only where none is set.
          (_req: Request, res: Response, next: NextFunction) => {
            res.removeHeader("Cache-Control");
            next();
          },
          express.static(`${webDir}assets`, { immutable: true, maxAge: "365d", index: false }),
        ]
      : (_req: Request, _res: Response, next: NextFunction) => next(),
  );
  return router;
}
