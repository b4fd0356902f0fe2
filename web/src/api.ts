/**
 * Every call the page makes to the service, through the client generated from the service's
 * OpenAPI document (client/api.d.ts by openapi-typescript, calls by openapi-fetch): each path,
 * parameter, body and answer is typed by the document itself, so a page that calls something the
 * document does not say fails `npm run typecheck`. The browser's session cookie (set by /sign-in)
 * authenticates same-origin requests; with an external identity provider the page adds a bearer
 * token instead (see setBearerToken). Refusals come back as ApiProblem, in the words of the
 * problem document.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "../../client/api.js";

type Schemas = components["schemas"];
export type ControlCenterView = Schemas["ControlCenterView"];
/** A lot as listed (a page of GET /parking-lots, and the control center's rows). */
export type ParkingLotView = Schemas["ParkingLotPage"]["items"][number];
export type ParkingLotDetail = Schemas["ParkingLotDetail"];
export type ReservationView = Schemas["ReservationView"];
export type ReservationStatus = ReservationView["status"];
export type SignInConfig = Schemas["SignInConfig"];
export type Problem = Schemas["Problem"];
export type RegisterParkingLot = Schemas["RegisterParkingLotBody"];
type ReservationsQuery = NonNullable<paths["/reservations"]["get"]["parameters"]["query"]>;

export interface PageOf<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A refusal or failure of the API, in the words of its problem document. */
export class ApiProblem extends Error {
  override name = "ApiProblem";
  constructor(
    readonly title: string,
    readonly detail: string | undefined,
    readonly status: number,
    readonly errors: readonly { field: string; message: string }[] = [],
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
  /** The session is missing or expired: the page should offer to sign in again. */
  get signedOut(): boolean {
    return this.status === 401;
  }
}

let bearer: string | undefined;
/** With an external identity provider, calls carry its access token instead of the session cookie. */
export function setBearerToken(token: string | undefined): void {
  bearer = token;
}

const client = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  credentials: "same-origin",
  headers: { accept: "application/json" },
});
client.use({
  onRequest({ request }) {
    if (bearer) request.headers.set("authorization", `Bearer ${bearer}`);
    return request;
  },
});

/** What openapi-fetch answers: the parsed body of a success, or of a refusal. */
interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/** The answer's data, or an ApiProblem in the words of its problem document (never a bare status). */
async function answered<T>(call: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await call;
  } catch {
    throw new ApiProblem(
      "The service cannot be reached",
      "Check the network connection; the page keeps trying.",
      0,
    );
  }
  const { response } = answer;
  if (response.ok) return answer.data as T;
  const problem = answer.error as Partial<Problem> | undefined;
  if (typeof problem?.title === "string")
    throw new ApiProblem(problem.title, problem.detail, response.status, problem.errors ?? []);
  throw new ApiProblem(
    response.status >= 500 ? "The service could not answer" : "The request was refused",
    "It answered without an explanation; try again in a moment.",
    response.status,
  );
}

export const api = {
  controlCenter: () => answered(client.GET("/control-center")),

  parkingLots: (cursor: string | undefined, limit = 100) =>
    answered(client.GET("/parking-lots", { params: { query: { cursor, limit } } })),

  parkingLot: (parkingLotId: string) =>
    answered(client.GET("/parking-lots/{parkingLotId}", { params: { path: { parkingLotId } } })),

  reservations: (filter: Omit<ReservationsQuery, "limit" | "minPosition"> & { limit?: number }) => {
    const { limit = 20, ...rest } = filter;
    // Empty fields are left out, not sent as `?carNumber=` (the API refuses empty values).
    const query = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== ""));
    return answered(client.GET("/reservations", { params: { query: { ...query, limit } } }));
  },

  registerLot: (body: RegisterParkingLot) => answered(client.POST("/parking-lots", { body })),

  signInConfig: () => answered(client.GET("/control-center/sign-in-config")),

  /** Trades an access token of the external provider for the service's session cookie. */
  startSession: async (accessToken: string) => {
    setBearerToken(accessToken);
    try {
      await answered(client.POST("/sign-in/session"));
    } finally {
      setBearerToken(undefined);
    }
  },

  cancelReservation: (parkingLotId: string, reservationId: string, reason: string) =>
    answered(
      client.DELETE("/parking-lots/{parkingLotId}/reservations/{reservationId}", {
        params: { path: { parkingLotId, reservationId } },
        body: { reason },
      }),
    ),
};

/** The live stream of control-center views (Server-Sent Events; the browser resumes it by itself). */
export const LIVE_UPDATES_URL: keyof paths = "/control-center/events";
