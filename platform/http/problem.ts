import type { FieldError } from "../validation.js";

/**
 * RFC 9457 problem details. Every kind of problem has a stable `type` (a relative URI that the
 * service also serves as documentation at GET /problems/{name}), a title and a status.
 *
 * These are the problems of HTTP itself, of authentication and of a service protecting itself;
 * the application adds its own (what its domain refuses) with defineProblemTypes(), and names
 * them for the type checker in ApplicationProblemTypes.
 */
export interface ProblemTypeInfo {
  readonly status: number;
  readonly title: string;
  readonly help: string;
}

export const HTTP_PROBLEM_TYPES = {
  validation: {
    status: 400,
    title: "The request is invalid",
    help: "Fix the fields listed in `errors` and send it again.",
  },
  "malformed-json": {
    status: 400,
    title: "The body is not valid JSON",
    help: "Send a JSON object with Content-Type: application/json.",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported content type",
    help: "Send the body as application/json.",
  },
  "payload-too-large": {
    status: 413,
    title: "The body is too large",
    help: "Request bodies are limited to 16 KiB.",
  },
  "not-found": {
    status: 404,
    title: "No such resource",
    help: "Check the path; see /openapi.json for the API.",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    help: "See the Allow header for the methods this path accepts.",
  },
  "rate-limited": {
    status: 429,
    title: "Too many requests",
    help: "Retry after the time in Retry-After; the RateLimit header says what is left of the window.",
  },
  overloaded: {
    status: 503,
    title: "The service is overloaded",
    help: "Retry after the time in Retry-After.",
  },
  "store-unavailable": {
    status: 503,
    title: "A backing store is unavailable",
    help: "Retry after the time in Retry-After.",
  },
  "storage-unavailable": {
    status: 503,
    title: "The service cannot store anything right now",
    help: "Its disk is full or read-only; nothing of this request was changed. Retry after the time in Retry-After (the operator is told by /readyz, the log and the metric parking_storage_unavailable).",
  },
  "service-unavailable": {
    status: 503,
    title: "No instance can answer right now",
    help: "Retry after the time in Retry-After.",
  },
  "shutting-down": {
    status: 503,
    title: "The service is shutting down",
    help: "Retry; another instance will answer.",
  },
  unauthorized: {
    status: 401,
    title: "Authentication required",
    help: "Send `Authorization: Bearer <access token>` from the configured issuer (in development: `npm run -s token -- --role customer --sub CUST1`). The WWW-Authenticate header says what was wrong with the token.",
  },
  forbidden: {
    status: 403,
    title: "Not allowed for this caller",
    help: "The token is valid but its role or subject may not do this; use an account with the right role.",
  },
  "sign-in-failed": {
    status: 401,
    title: "The sign-in link is invalid",
    help: "Sign-in links are valid for 5 minutes and once; print a new one with `npm run -s token -- --role operator --sub ops-1 --sign-in-url <service URL>`.",
  },
  "identity-provider-unavailable": {
    status: 503,
    title: "The identity provider's keys cannot be fetched",
    help: "Retry shortly; if it persists, check AUTH_ISSUER / AUTH_JWKS_URL and that the issuer is reachable.",
  },
  internal: {
    status: 500,
    title: "Internal error",
    help: "This is a bug; the error is logged with the correlation id.",
  },
} as const satisfies Record<string, ProblemTypeInfo>;

/**
 * The problem types an application adds, by name: it declares them by module augmentation
 * (`declare module ".../platform/http/problem.js" { interface ApplicationProblemTypes { ... } }`)
 * and defines them at run time with defineProblemTypes().
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the application's module augmentation.
export interface ApplicationProblemTypes {}

export type ProblemName = keyof typeof HTTP_PROBLEM_TYPES | keyof ApplicationProblemTypes;

const catalogue = new Map<string, ProblemTypeInfo>(Object.entries(HTTP_PROBLEM_TYPES));

/** Adds the application's problem types to the catalogue (once, when its module is loaded). */
export function defineProblemTypes(types: Readonly<Record<string, ProblemTypeInfo>>): void {
  for (const [name, info] of Object.entries(types)) {
    const known = catalogue.get(name);
    if (known && known !== info) throw new Error(`The problem type ${name} is defined twice.`);
    catalogue.set(name, info);
  }
}

/** Every problem type: the platform's, then the application's. */
export const problemTypes = (): ReadonlyMap<string, ProblemTypeInfo> => catalogue;

/** A problem type's status, title and advice; an undefined one is a bug of the service. */
export function problemInfo(name: ProblemName): ProblemTypeInfo {
  const info = catalogue.get(name);
  if (!info) throw new Error(`The problem type ${name} is not defined (defineProblemTypes).`);
  return info;
}

export const problemType = (name: ProblemName): string => `/problems/${name}`;

/** An error that is answered as a problem document. Thrown by handlers, rendered by the error middleware. */
export class ProblemError extends Error {
  override name = "ProblemError";
  constructor(
    readonly problem: ProblemName,
    readonly detail?: string,
    readonly extra: {
      readonly errors?: readonly FieldError[];
      readonly retryAfterSeconds?: number;
      readonly headers?: Readonly<Record<string, string>>;
      /** RFC 9457's own members are the problem's; an extension may not take their names. */
      readonly type?: never;
      readonly title?: never;
      readonly status?: never;
      readonly detail?: never;
      readonly instance?: never;
      readonly [key: string]: unknown;
    } = {},
  ) {
    super(detail ?? catalogue.get(problem)?.title ?? problem);
  }

  #status: number | undefined;

  /** Read when the problem is answered: the application's types are defined by then. */
  get status(): number {
    return this.#status ?? problemInfo(this.problem).status;
  }

  /** Libraries that wrap an error set its status (body-parser's verify hook, through http-errors). */
  set status(status: number) {
    this.#status = status;
  }
}

/**
 * A 400 `validation` naming one field of the request (`query.from`) and what is wrong with it; its
 * detail is the field's name and that message (`from must be after now.`) unless one is given.
 */
export const invalidField = (
  field: string,
  message: string,
  detail = `${field.replace(/^(body|query|header|path)\./, "")} ${message}.`,
): ProblemError => new ProblemError("validation", detail, { errors: [{ field, message }] });

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: readonly FieldError[];
  [key: string]: unknown;
}

export function problemDocument(error: ProblemError, instance?: string): ProblemDocument {
  const { errors, retryAfterSeconds: _r, headers: _h, ...extensions } = error.extra;
  return {
    ...extensions,
    type: problemType(error.problem),
    title: problemInfo(error.problem).title,
    status: error.status,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(errors ? { errors } : {}),
  };
}
