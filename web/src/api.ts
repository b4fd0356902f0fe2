/**
 * Every call the page makes to the service, in one module (so a generated client can replace it),
 * typed with the very TypeBox schemas the service validates with. The browser's session cookie
 * (set by /sign-in) authenticates same-origin requests; with an external identity provider the
 * page adds a bearer token instead (see setBearerToken).
 */
import type { Static } from "@sinclair/typebox";
import type { RegisterParkingLotBody } from "../../schemas/commands.js";
import type {
  ControlCenterView,
  ParkingLotRegisteredResponse,
  ParkingLotView,
  Problem,
  ReservationStatus,
  ReservationView,
} from "../../schemas/read-models.js";

import type { SignInConfig } from "../../schemas/sign-in.js";

export type { ControlCenterView, ParkingLotView, Problem, ReservationView, SignInConfig };

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

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiProblem(
      "The service cannot be reached",
      "Check the network connection; the page keeps trying.",
      0,
    );
  }
  const type = response.headers.get("content-type") ?? "";
  if (response.ok) return (await response.json()) as T;
  if (type.includes("json")) {
    const problem = (await response.json().catch(() => ({}))) as Partial<Problem>;
    if (typeof problem.title === "string") {
      throw new ApiProblem(problem.title, problem.detail, response.status, problem.errors ?? []);
    }
  }
  throw new ApiProblem(
    response.status >= 500 ? "The service could not answer" : "The request was refused",
    "It answered without an explanation; try again in a moment.",
    response.status,
  );
}

const query = (params: Record<string, string | number | undefined>) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== "");
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : "";
};

export const api = {
  controlCenter: () => request<ControlCenterView>("GET", "/control-center"),

  parkingLots: (cursor: string | undefined, limit = 100) =>
    request<PageOf<ParkingLotView>>("GET", `/parking-lots${query({ cursor, limit })}`),

  parkingLot: (parkingLotId: string) =>
    request<ParkingLotView>("GET", `/parking-lots/${encodeURIComponent(parkingLotId)}`),

  reservations: (filter: {
    parkingLotId?: string;
    customerId?: string;
    carNumber?: string;
    status?: ReservationStatus;
    cursor?: string;
    limit?: number;
  }) => request<PageOf<ReservationView>>("GET", `/reservations${query({ limit: 20, ...filter })}`),

  registerLot: (body: RegisterParkingLotBody) =>
    request<Static<typeof ParkingLotRegisteredResponse>>("POST", "/parking-lots", body),

  signInConfig: () => request<SignInConfig>("GET", "/control-center/sign-in-config"),

  /** Trades an access token of the external provider for the service's session cookie. */
  startSession: async (accessToken: string) => {
    setBearerToken(accessToken);
    try {
      await request<unknown>("POST", "/sign-in/session");
    } finally {
      setBearerToken(undefined);
    }
  },

  cancelReservation: (parkingLotId: string, reservationId: string, reason: string) =>
    request<{ reservationId: string; status: "CANCELED"; position: string }>(
      "DELETE",
      `/parking-lots/${encodeURIComponent(parkingLotId)}/reservations/${encodeURIComponent(reservationId)}`,
      { reason },
    ),
};

/** The live stream of control-center views (Server-Sent Events; the browser resumes it by itself). */
export const LIVE_UPDATES_URL = "/control-center/events";
