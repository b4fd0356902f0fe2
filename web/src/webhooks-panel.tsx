import { useEffect, useState } from "preact/hooks";
import { api, type NewWebhookEndpoint, type WebhookAttemptPage, type WebhookEndpointView } from "./api.js";
import { clockOf, count } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";
import { t } from "./i18n.js";

/**
 * The event types an endpoint may subscribe to, as the document lists them: every one, or the page
 * does not compile (a type the document adds, such as issue 47's payment.*, must be offered here).
 */
const OFFERED: Record<NewWebhookEndpoint["eventTypes"][number], true> = {
  "reservation.reserved": true,
  "reservation.canceled": true,
  "reservation.checked_in": true,
  "reservation.checked_out": true,
  "reservation.overstaying": true,
  "reservation.no_show": true,
  "coupon.issued": true,
  "coupon.revoked": true,
  "lot.closure_announced": true,
  "lot.closure_began": true,
  "payment.authorized": true,
  "payment.failed": true,
  "payment.action_required": true,
  "payment.captured": true,
  "payment.released": true,
  "payment.refunded": true,
  "payment.hold_lapsed": true,
  "payment.charge_failed": true,
};
const EVENT_TYPES = Object.keys(OFFERED) as (keyof typeof OFFERED)[];

/** What the panel last said: a secret shown this once, or a replay's result. */
type Said =
  | { readonly kind: "secret"; readonly id: string; readonly secret: string; readonly previousUntil?: string }
  | { readonly kind: "replay"; readonly id: string; readonly enqueued: number; readonly next: string | null };

/**
 * The operators' webhooks panel (issue 35; compact since issue 49): one line per endpoint, whether
 * it is disabled and why, its last attempts, a rotated secret or a replay from a log position (the
 * API's rotate-secret and replay), and a folded form that registers one and shows its secret once.
 */
export function WebhooksPanel(props: {
  /** The lots the page has loaded: a delivery about one of them is shown on its clock. */
  readonly lots: readonly { readonly parkingLotId: string; readonly timeZone: string }[];
}) {
  const [endpoints, setEndpoints] = useState<readonly WebhookEndpointView[] | null>(null);
  const [said, setSaid] = useState<Said | null>(null);
  const [shown, setShown] = useState<{ id: string; page: WebhookAttemptPage } | null>(null);
  const { busy, problem, run } = useAction();
  const reload = async () => setEndpoints((await api.webhookEndpoints()).items);
  useEffect(() => void run(reload), []);
  return (
    <section class="panel webhooks-panel" aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">{t("webhooks.title")}</h2>
      <ProblemMessage problem={problem} />
      {said ? <SaidNotice said={said} /> : null}
      {endpoints?.length ? (
        <EndpointsTable
          endpoints={endpoints}
          busy={busy}
          onDeliveries={(id) => run(async () => setShown({ id, page: await api.webhookDeliveries(id) }))}
          onRotate={(id) =>
            run(async () => {
              const rotated = await api.rotateWebhookSecret(id);
              setSaid({
                kind: "secret",
                id,
                secret: rotated.secret,
                previousUntil: rotated.previousSecretExpiresAt,
              });
            })
          }
          onReplay={(id, fromPosition) =>
            run(async () => {
              const replayed = await api.replayWebhooks(id, fromPosition);
              setSaid({ kind: "replay", id, enqueued: replayed.enqueued, next: replayed.nextFromPosition });
              await reload();
            })
          }
          onDelete={(id) =>
            run(async () => {
              await api.deleteWebhookEndpoint(id);
              await reload();
            })
          }
        />
      ) : (
        <p class="empty">{endpoints ? t("webhooks.none") : t("webhooks.loading")}</p>
      )}
      {shown ? <Attempts id={shown.id} page={shown.page} lots={props.lots} /> : null}
      <details class="webhooks-new">
        <summary>{t("webhooks.register")}</summary>
        <NewEndpointForm
          busy={busy}
          onCreate={(body) =>
            run(async () => {
              const created = await api.createWebhookEndpoint(body);
              setSaid({ kind: "secret", id: created.id, secret: created.secret });
              await reload();
            })
          }
        />
      </details>
    </section>
  );
}

function SaidNotice({ said }: { readonly said: Said }) {
  if (said.kind === "replay")
    return (
      <p class="notice" role="status" data-replayed={said.enqueued}>
        {t("webhooks.replayed", { id: said.id, n: count(said.enqueued) })}
        {said.next ? t("webhooks.replayOn", { position: said.next }) : "."}
      </p>
    );
  return (
    <p class="notice" role="status">
      {t("webhooks.secret", { id: said.id })} <code data-secret>{said.secret}</code>
      {said.previousUntil ? t("webhooks.previousUntil", { when: clockOf().when(said.previousUntil) }) : ""}
    </p>
  );
}

function EndpointsTable(props: {
  readonly endpoints: readonly WebhookEndpointView[];
  readonly busy: boolean;
  readonly onDeliveries: (id: string) => void;
  readonly onRotate: (id: string) => void;
  readonly onReplay: (id: string, fromPosition: string) => void;
  readonly onDelete: (id: string) => void;
}) {
  return (
    <table class="webhooks">
      <thead>
        <tr>
          <th scope="col">{t("webhooks.endpoint")}</th>
          <th scope="col">{t("webhooks.events")}</th>
          <th scope="col">{t("webhooks.state")}</th>
          <th scope="col">{t("webhooks.toSend")}</th>
          <th scope="col" />
        </tr>
      </thead>
      <tbody>
        {props.endpoints.map((e) => (
          <tr key={e.id} data-endpoint={e.id}>
            <td>
              <code>{e.url}</code> <span class="muted">{e.description}</span>
            </td>
            <td title={e.eventTypes.join(", ")}>{eventsInShort(e.eventTypes)}</td>
            <td>
              {e.status === "enabled"
                ? t("webhooks.enabled")
                : t("webhooks.disabled", { reason: e.disabledReason ?? "" })}
            </td>
            <td class="num">{e.pending}</td>
            <td class="webhook-actions">
              <button type="button" class="secondary" onClick={() => props.onDeliveries(e.id)}>
                {t("webhooks.deliveries")}
              </button>
              <button
                type="button"
                class="secondary"
                disabled={props.busy}
                onClick={() => props.onRotate(e.id)}
              >
                {t("webhooks.rotate")}
              </button>
              <ReplayForm id={e.id} busy={props.busy} onReplay={props.onReplay} />
              <button
                type="button"
                class="secondary"
                disabled={props.busy}
                onClick={() => props.onDelete(e.id)}
              >
                {t("webhooks.delete")}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The events an endpoint hears, short: all of them, or their names. */
const eventsInShort = (types: readonly string[]) =>
  types.length === EVENT_TYPES.length ? t("webhooks.everyEvent") : types.join(", ");

/** Replay an endpoint's messages from a log position (the API's replay; the first position by default). */
function ReplayForm(props: {
  readonly id: string;
  readonly busy: boolean;
  readonly onReplay: (id: string, fromPosition: string) => void;
}) {
  const [from, setFrom] = useState("1");
  return (
    <form
      class="replay"
      aria-label={t("webhooks.replayTo", { id: props.id })}
      onSubmit={(event) => {
        event.preventDefault();
        props.onReplay(props.id, from.trim());
      }}
    >
      <label>
        {t("webhooks.fromPosition")}
        <input value={from} inputMode="numeric" size={6} onInput={(e) => setFrom(e.currentTarget.value)} />
      </label>
      <button type="submit" class="secondary" disabled={props.busy}>
        {t("webhooks.replay")}
      </button>
    </form>
  );
}

/**
 * An endpoint's last attempts. Each at the clock of the lot its fact concerns, when the page has
 * that lot loaded (issue 49); otherwise, and for a message about no lot, in UTC, labelled.
 */
function Attempts(props: {
  readonly id: string;
  readonly page: WebhookAttemptPage;
  readonly lots: readonly { readonly parkingLotId: string; readonly timeZone: string }[];
}) {
  const { id, page } = props;
  const zoneOf = (lot: string | undefined) => props.lots.find((l) => l.parkingLotId === lot)?.timeZone;
  return (
    <table aria-label={t("webhooks.lastDeliveries", { id })}>
      <thead>
        <tr>
          <th>{t("webhooks.when")}</th>
          <th>{t("webhooks.event")}</th>
          <th>{t("webhooks.attempt")}</th>
          <th>{t("webhooks.status")}</th>
          <th>{t("webhooks.latency")}</th>
          <th>{t("webhooks.error")}</th>
        </tr>
      </thead>
      <tbody>
        {page.items.map((a) => (
          <tr key={`${a.webhookId}-${a.attempt}-${a.at}`}>
            <td data-zone={zoneOf(a.parkingLotId) ?? "UTC"}>{clockOf(zoneOf(a.parkingLotId)).when(a.at)}</td>
            <td>{a.eventType}</td>
            <td>{a.attempt}</td>
            <td>{a.statusCode ?? "-"}</td>
            <td>{t("webhooks.ms", { n: count(a.latencyMs) })}</td>
            <td>{a.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NewEndpointForm(props: {
  readonly busy: boolean;
  readonly onCreate: (body: NewWebhookEndpoint) => void;
}) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState<ReadonlySet<NewWebhookEndpoint["eventTypes"][number]>>(new Set());
  const submit = (event: Event) => {
    event.preventDefault();
    props.onCreate({ url: url.trim(), eventTypes: [...types], ...(description ? { description } : {}) });
  };
  return (
    <form onSubmit={submit} aria-label={t("webhooks.registerForm")}>
      <label>
        URL
        <input
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
          placeholder="https://example.com/hooks"
        />
      </label>
      <label>
        {t("webhooks.description")}
        <input value={description} maxLength={500} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>{t("webhooks.events")}</legend>
        {EVENT_TYPES.map((type) => (
          <label key={type}>
            <input
              type="checkbox"
              checked={types.has(type)}
              onChange={(e) => {
                const next = new Set(types);
                if (e.currentTarget.checked) next.add(type);
                else next.delete(type);
                setTypes(next);
              }}
            />
            {type}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={props.busy}>
        {t("webhooks.submit")}
      </button>
    </form>
  );
}
