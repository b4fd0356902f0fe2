import { jsonResponse, type Operation, pathParameter } from "../../platform/http/operation.js";
import { LOT_STAFF, OPERATOR, STAFF_ROLES } from "../../schemas/actor.js";
import { GateConfidenceChangedResponse } from "../../schemas/command-responses.js";
import { ChangeGateConfidenceBody } from "../../schemas/commands.js";
import { Identifier, ParkingLotId } from "../../schemas/common.js";
import { LOT_ID } from "../../schemas/examples.js";
import {
  GateEventAnswer,
  GateEventBody,
  GateReviewResolution,
  ResolveGateReviewBody,
} from "../../schemas/gates.js";

/** What every command row shares: it is served by the command role, and documented with the commands. */
export const COMMAND = { side: "commands", tag: "commands" } as const;

export const lotPath = pathParameter("parkingLotId", ParkingLotId, LOT_ID);

/** What a row that sets one of a lot's terms shares: an operator PUTs it on the lot; an unknown lot is refused. */
export const LOT_TERM = {
  method: "put",
  ...COMMAND,
  allow: OPERATOR,
  parameters: [lotPath],
  problems: ["parking-lot-not-found"],
} as const;

/** The command API's rows for a lot's gates (operations.ts lists them): a plate read, the confidence threshold. */
export const GATE_OPERATIONS = [
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/gate-events",
    operationId: "recordGateEvent",
    ...COMMAND,
    allow: STAFF_ROLES,
    summary: "A gate's plate camera read a car at a barrier: open, deny or review",
    description:
      "For a gate integration: a `gate` credential (or staff) whose grant covers the lot. Entry: the one booking of the plate that may check in now is checked in; none: a drive-up stay (open-ended, at the lot's hourly rate, paid at the exit) is booked and checked in (`DriveUp`) if a spot is free for the next 60 minutes, else `deny` with the lot's reason (`LotFull`, `LotClosed`, `NoHourlyRate`). Exit: the plate's stay is checked out and `price` is what it cost. A read below the lot's confidence threshold (`PUT …/gate-confidence`; default 0.8), several bookings of the plate, or an exit with no stay: `review` (an attendant checks the car in or out by hand). Idempotent by `eventId`: the same id answers as the first time (`replayed: true`) and changes nothing. Plates are compared ignoring spaces, hyphens and case (`34 나 2222` is `34나2222`).",
    parameters: [lotPath],
    body: {
      schema: GateEventBody,
      required: true,
      example: {
        eventId: "cam-1-000123",
        gateId: "north-in",
        direction: "entry",
        plate: "34 나 2222",
        confidence: 0.93,
        at: "2026-11-26T09:00:00+09:00",
      },
    },
    problems: ["parking-lot-not-found"],
    responses: {
      "200": jsonResponse("Decided (a repeat of an event id: the first answer).", GateEventAnswer),
    },
  },
  {
    method: "post",
    path: "/parking-lots/{parkingLotId}/gate-reviews/{eventId}/resolve",
    operationId: "resolveGateReview",
    ...COMMAND,
    allow: LOT_STAFF,
    summary:
      "Settle a gate read sent to review by hand: open (check a booking in or out), admit a drive-up, or deny (attendant)",
    description:
      "For the lot's people (attendant, operator, admin; a `gate` credential 403). `open` with `reservationId`: the booking is checked in (the read was an entry) or out (an exit, `price` is what it cost) by the lot's own check-in or check-out, whose refusal is the answer (nothing is recorded then); `drive-up` with `plate` (an entry's review only; the plate the attendant read on the camera image, which the review does not keep): the car has no booking and the lot admits it as its gate would (`AdmitDriveUp`: an open-ended stay at the lot's hourly rate if a spot is free for the next 60 minutes, its id derived from the read so a repeated resolve books one stay), the answer's `reservationId` is the stay, the lot's refusal (`parking-lot-full`, `parking-lot-closed`) the answer; the plate is kept only on the stay, never on the review's record; `deny`: the car was turned away, only that is recorded. Either way a `GateReviewResolved` fact on the read's stream (in the audit trail) drops it from `GET …/gate-reviews`. A review is resolved once: a second resolve (two attendants at once included) answers 409 `gate-review-resolved`.",
    parameters: [lotPath, pathParameter("eventId", Identifier, "cam-1-000123")],
    body: {
      schema: ResolveGateReviewBody,
      required: true,
      example: { action: "open", reservationId: "R-EXAMPLE" },
    },
    rules: [
      "`reservationId`: required with `open`.",
      "`plate`: required with `drive-up`.",
      "`drive-up`: an entry's review only (400 naming `action` on an exit's), on a lot with an hourly rate.",
    ],
    problems: [
      "parking-lot-not-found",
      "gate-review-not-found",
      "gate-review-resolved",
      "reservation-not-found",
      "reservation-not-active",
      "check-in-too-early",
      "not-checked-in",
      "stay-price-too-high",
      "payment-pending",
      "parking-lot-full",
      "parking-lot-closed",
    ],
    responses: { "200": jsonResponse("Resolved.", GateReviewResolution) },
  },
  {
    ...LOT_TERM,
    path: "/parking-lots/{parkingLotId}/gate-confidence",
    operationId: "changeGateConfidence",
    summary:
      "Change the camera confidence below which the lot's gates send a plate read to review (operator)",
    description:
      "Applies to reads from now on: a read below `gateConfidenceThreshold` (0..1; a lot that never set it: 0.8) opens nothing and goes to the lot's review list. The same threshold again changes nothing.",
    body: { schema: ChangeGateConfidenceBody, required: true, example: { gateConfidenceThreshold: 0.85 } },
    responses: { "200": jsonResponse("Changed.", GateConfidenceChangedResponse) },
  },
] as const satisfies readonly Operation[];
