import { useEffect, useState } from "preact/hooks";
import { api, type NewWebhookEndpoint, type WebhookAttemptPage, type WebhookEndpointView } from "./api.js";
import { clockOf } from "./format.js";
import { ProblemMessage, useAction } from "./forms.js";

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
  "payment.captured": true,
  "payment.released": true,
  "payment.refunded": true,
};
const EVENT_TYPES = Object.keys(OFFERED) as (keyof typeof OFFERED)[];

/**
 * The operators' webhooks panel (issue 35): the endpoints, whether each is disabled and why, a
 * form that registers one and shows its signing secret this once, and an endpoint's last attempts.
 */
export function WebhooksPanel() {
  const [endpoints, setEndpoints] = useState<readonly WebhookEndpointView[] | null>(null);
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);
  const [shown, setShown] = useState<{ id: string; page: WebhookAttemptPage } | null>(null);
  const { busy, problem, run } = useAction();
  const reload = () => run(async () => setEndpoints((await api.webhookEndpoints()).items));
  useEffect(() => void reload(), []);
  return (
    <section class="panel webhooks-panel" aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhooks</h2>
      <ProblemMessage problem={problem} />
      {secret ? (
        <p class="notice" role="status">
          Signing secret of {secret.id}, shown this once: <code>{secret.secret}</code>
        </p>
      ) : null}
      {endpoints?.length ? (
        <EndpointsTable
          endpoints={endpoints}
          busy={busy}
          onDeliveries={(id) => run(async () => setShown({ id, page: await api.webhookDeliveries(id) }))}
          onDelete={(id) =>
            run(async () => {
              await api.deleteWebhookEndpoint(id);
              setEndpoints((await api.webhookEndpoints()).items);
            })
          }
        />
      ) : (
        <p class="empty">{endpoints ? "No endpoints." : "Loading…"}</p>
      )}
      {shown ? <Attempts id={shown.id} page={shown.page} /> : null}
      <NewEndpointForm
        busy={busy}
        onCreate={(body) =>
          run(async () => {
            const created = await api.createWebhookEndpoint(body);
            setSecret({ id: created.id, secret: created.secret });
            setEndpoints((await api.webhookEndpoints()).items);
          })
        }
      />
    </section>
  );
}

function EndpointsTable(props: {
  readonly endpoints: readonly WebhookEndpointView[];
  readonly busy: boolean;
  readonly onDeliveries: (id: string) => void;
  readonly onDelete: (id: string) => void;
}) {
  return (
    <table>
      <thead>
        <tr>
          <th>Endpoint</th>
          <th>Events</th>
          <th>State</th>
          <th>To send</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.endpoints.map((e) => (
          <tr key={e.id}>
            <td>
              <code>{e.url}</code> {e.description}
            </td>
            <td>{e.eventTypes.join(", ")}</td>
            <td>{e.status === "enabled" ? "enabled" : `disabled: ${e.disabledReason ?? ""}`}</td>
            <td>{e.pending}</td>
            <td>
              <button type="button" class="secondary" onClick={() => props.onDeliveries(e.id)}>
                Deliveries
              </button>{" "}
              <button
                type="button"
                class="secondary"
                disabled={props.busy}
                onClick={() => props.onDelete(e.id)}
              >
                Delete
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Attempts({ id, page }: { readonly id: string; readonly page: WebhookAttemptPage }) {
  return (
    <table aria-label={`Last deliveries to ${id}`}>
      <thead>
        <tr>
          <th>When</th>
          <th>Event</th>
          <th>Attempt</th>
          <th>Status</th>
          <th>Latency</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {page.items.map((a) => (
          <tr key={`${a.webhookId}-${a.attempt}-${a.at}`}>
            <td>{clockOf("UTC").when(a.at)}</td>
            <td>{a.eventType}</td>
            <td>{a.attempt}</td>
            <td>{a.statusCode ?? "-"}</td>
            <td>{a.latencyMs} ms</td>
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
    <form onSubmit={submit} aria-label="Register a webhook endpoint">
      <label>
        URL
        <input
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
          placeholder="https://example.com/hooks"
        />
      </label>
      <label>
        Description
        <input value={description} maxLength={500} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <fieldset>
        <legend>Events</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t}>
            <input
              type="checkbox"
              checked={types.has(t)}
              onChange={(e) => {
                const next = new Set(types);
                if (e.currentTarget.checked) next.add(t);
                else next.delete(t);
                setTypes(next);
              }}
            />
            {t}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={props.busy}>
        Register endpoint
      </button>
    </form>
  );
}
