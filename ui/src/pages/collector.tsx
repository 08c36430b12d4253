import { type ReactNode, useState } from 'react';
import { ApiError, api, type CollectorDetail } from '../api.ts';
import { VolumeChart } from '../chart.tsx';
import {
  Confirm,
  CopyButton,
  Empty,
  ErrorMessage,
  HealthBadge,
  IngestToken,
  Loaded,
  Loading,
  Notice,
  Num,
  SourceMark,
  StatusBadge,
  Time,
  useAsync,
} from '../components.tsx';
import { bytes, duration } from '../format.ts';
import { Link, navigate } from '../router.tsx';
import { useCan } from '../session.ts';

type Pending =
  | { kind: 'stop' }
  | { kind: 'delete' }
  | { kind: 'reset'; stream?: string }
  | { kind: 'rotate' }
  | undefined;

/**
 * One collector: status and health with reasons, volume, errors, runs, checkpoints, dead letters. A
 * push collector (a vendor sends to its endpoint) has no runs, schedule or checkpoint: its page shows
 * its endpoint and tokens, the requests and events it accepted, and the latest refusals instead.
 */
export function CollectorPage({ name }: { name: string }) {
  const state = useAsync(() => api.collector(name), [name], 3000);
  const editor = useCan('editor');
  const [pending, setPending] = useState<Pending>();
  const [notice, setNotice] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  /** A push collector's new ingest token, shown once after a rotation. */
  const [rotated, setRotated] = useState<string>();

  if (state.error instanceof ApiError && state.error.status === 404 && !state.data)
    return (
      <section>
        <h1>No collector named “{name}”</h1>
        <p>
          It may have been deleted. <Link to="/">Back to the overview</Link>
        </p>
      </section>
    );

  async function act(what: () => Promise<unknown>, done: string) {
    setBusy(true);
    setActionError(undefined);
    try {
      await what();
      setNotice(done);
      await state.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Collectors</Link> / <span aria-current="page">{name}</span>
      </nav>
      <Loaded state={state}>
        {(c) => (
          <>
            <div className="page-head">
              <div className="title-with-mark">
                <SourceMark id={c.source} title={c.sourceTitle} />
                <div>
                  <h1>{c.name}</h1>
                  <div className="muted">
                    {c.sourceTitle} collector · created <Time iso={c.createdAt} />
                  </div>
                </div>
              </div>
              {editor ? (
                <div className="actions">
                  {c.enabled ? (
                    <>
                      {c.ingest ? null : (
                        <button
                          type="button"
                          disabled={busy}
                          onClick={() => act(() => api.runCollector(name), 'Run started.')}
                        >
                          Run now
                        </button>
                      )}
                      <button type="button" disabled={busy} onClick={() => setPending({ kind: 'stop' })}>
                        Stop
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="primary"
                      disabled={busy}
                      onClick={() => act(() => api.startCollector(name), 'Collector started.')}
                    >
                      Start
                    </button>
                  )}
                  <Link to={`/collectors/${encodeURIComponent(name)}/edit`} className="button">
                    Edit
                  </Link>
                  <button type="button" className="danger" onClick={() => setPending({ kind: 'delete' })}>
                    Delete
                  </button>
                </div>
              ) : null}
            </div>
            {notice ? <Notice onDone={() => setNotice(undefined)}>{notice}</Notice> : null}
            <ErrorMessage error={actionError} />
            {c.vendorWait ? <VendorWaitNotice c={c} /> : null}
            <Overview c={c} />
            {c.deliveryFailures.length ? (
              <Card title="Failing destinations">
                <FailingDestinations c={c} />
              </Card>
            ) : null}
            {rotated ? (
              <IngestToken name={c.name} token={rotated}>
                <div className="actions">
                  <button type="button" className="primary" onClick={() => setRotated(undefined)}>
                    I have copied the token
                  </button>
                </div>
              </IngestToken>
            ) : null}
            {c.ingest ? (
              <>
                <Card title="Ingest endpoint">
                  <Ingest c={c} editor={editor} onRotate={() => setPending({ kind: 'rotate' })} />
                </Card>
                <Card title="Requests">
                  <Traffic c={c} />
                </Card>
                <Card title="Latest refusals">
                  <Refusals c={c} />
                </Card>
              </>
            ) : null}
            <Card title="Volume">
              <VolumeChart volume={c.volumeByHour} />
            </Card>
            <Card title={`Errors (${c.errors.length})`}>
              <Errors c={c} />
            </Card>
            {c.ingest ? null : (
              <>
                <Card title="Checkpoints">
                  <Checkpoints
                    c={c}
                    editor={editor}
                    onReset={(stream) => setPending({ kind: 'reset', stream })}
                  />
                </Card>
                <Card title="Run history">
                  <Runs c={c} />
                </Card>
              </>
            )}
            <Card title={`Dead letters (${c.deadLetters.length})`}>
              <DeadLetters c={c} />
            </Card>
            {pending?.kind === 'stop' ? (
              <Confirm
                title={`Stop ${name}?`}
                confirm="Stop collector"
                onClose={() => setPending(undefined)}
                onConfirm={async () => {
                  await api.stopCollector(name);
                  setNotice('Collector stopped.');
                  await state.reload();
                }}
              >
                <p>
                  The batch in flight is finished and checkpointed; then no more runs until you start it
                  again.
                </p>
              </Confirm>
            ) : null}
            {pending?.kind === 'reset' ? (
              <Confirm
                title={
                  pending.stream ? `Reset the checkpoint of ${pending.stream}?` : 'Reset all checkpoints?'
                }
                confirm="Reset checkpoint"
                danger
                onClose={() => setPending(undefined)}
                onConfirm={async () => {
                  await api.resetCheckpoint(name, pending.stream);
                  setNotice('Checkpoint reset: the next run starts from the lookback.');
                  await state.reload();
                }}
              >
                <p>
                  The next run starts again from the lookback ({String(c.config.lookback ?? '1d')}). Events
                  collected before are delivered again (with the same event ids).
                </p>
              </Confirm>
            ) : null}
            {pending?.kind === 'rotate' ? (
              <Confirm
                title={`New ingest token for ${name}?`}
                confirm="Issue new token"
                onClose={() => setPending(undefined)}
                onConfirm={async () => {
                  const r = await api.rotateIngestToken(name, '24h');
                  if (r.ingestToken) setRotated(r.ingestToken);
                  await state.reload();
                }}
              >
                <p>
                  A new token is shown once. The current one keeps working for 24 hours, so that the sender
                  can be switched over without losing a request.
                </p>
              </Confirm>
            ) : null}
            {pending?.kind === 'delete' ? (
              <Confirm
                title={`Delete ${name}?`}
                confirm="Delete collector"
                danger
                onClose={() => setPending(undefined)}
                onConfirm={async () => {
                  await api.deleteCollector(name);
                  navigate('/');
                }}
              >
                <p>
                  The collector, its checkpoints, run history and dead letters are deleted. This cannot be
                  undone.
                </p>
              </Confirm>
            ) : null}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** A push collector's endpoint, its live tokens (hints only) and the signature it requires. */
function Ingest({ c, editor, onRotate }: { c: CollectorDetail; editor: boolean; onRotate: () => void }) {
  const ingest = c.ingest!;
  return (
    <>
      <p className="endpoint">
        <code data-testid="endpoint">POST {`${window.location.origin}${ingest.path}`}</code>{' '}
        <CopyButton text={`${window.location.origin}${ingest.path}`} what="endpoint URL" />
        {ingest.signature ? (
          <>
            {' '}
            with an HMAC-SHA256 signature in <code>{ingest.signature.header}</code>
          </>
        ) : null}
      </p>
      <div className="table-wrap">
        <table className="table" data-testid="ingest-tokens">
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Issued</th>
              <th scope="col">Expires</th>
            </tr>
          </thead>
          <tbody>
            {ingest.tokens.map((t) => (
              <tr key={t.hint} data-token={t.hint}>
                <td>
                  <code>{t.hint}</code>
                </td>
                <td>
                  <Time iso={t.createdAt} />
                </td>
                <td>{t.expiresAt ? <Time iso={t.expiresAt} relative /> : 'never'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="help">
        Only the last characters of each token are kept for display; a token is shown in full once, when it is
        issued. Senders send it as <code>Authorization: Bearer …</code>.
      </p>
      {editor ? (
        <div className="actions">
          <button type="button" onClick={onRotate}>
            Rotate token
          </button>
        </div>
      ) : null}
    </>
  );
}

const plural = (n: number, what: string) => `${n.toLocaleString()} ${what}${n === 1 ? '' : 's'}`;

const STATUS_WORDS: Record<string, string> = {
  '200': 'accepted',
  '400': 'malformed',
  '401': 'wrong token or signature',
  '413': 'too large',
  '415': 'unsupported encoding',
  '429': 'over the rate',
  '500': 'internal error',
  '503': 'unavailable',
};

/** As health judges them (control/health.ts): retried or not the sender's fault, or events lost. */
const answerTone = (status: number) =>
  status === 401 || status === 429 || status === 503 ? 'health-warning' : 'health-error';

/** Requests answered per status, e.g. "429 over the rate ×3". */
function ByStatus({ byStatus }: { byStatus: Record<string, number> }) {
  const refused = Object.entries(byStatus).filter(([s]) => s !== '200');
  if (!refused.length) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {refused.map(([status, n]) => (
        <li key={status}>
          <span className={`badge ${answerTone(Number(status))}`}>{status}</span> {STATUS_WORDS[status] ?? ''}{' '}
          ×{n.toLocaleString()}
        </li>
      ))}
    </ul>
  );
}

/** A push collector's requests and events accepted in the last hour and day. */
function Traffic({ c }: { c: CollectorDetail }) {
  const t = c.ingest?.traffic;
  if (!t) return <Loading />;
  const rows = [
    { label: 'Last hour', v: t.lastHour },
    { label: 'Last day', v: t.lastDay },
  ];
  return (
    <div className="table-wrap">
      <table className="table" data-testid="traffic">
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col" className="right">
              Requests
            </th>
            <th scope="col" className="right">
              Accepted
            </th>
            <th scope="col" className="right">
              Events accepted
            </th>
            <th scope="col">Refused</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ label, v }) => (
            <tr key={label} data-period={label}>
              <th scope="row">{label}</th>
              <td className="right">
                <Num n={v.requests} />
              </td>
              <td className="right">
                <Num n={v.accepted} />
              </td>
              <td className="right">
                <Num n={v.events} />
              </td>
              <td>
                <ByStatus byStatus={v.byStatus} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="help">
        Counted in 5-minute steps. Senders retry requests answered 429 or 503; a request answered 400 or 413
        is lost unless the sender splits or fixes it.
      </p>
    </div>
  );
}

/** The latest refusal of each kind (429, 503, 413, …) in the last 7 days, with its reason. */
function Refusals({ c }: { c: CollectorDetail }) {
  const list = c.ingest?.traffic?.refusals ?? [];
  if (!list.length) return <Empty>No request was refused in the last 7 days.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="refusals">
        <thead>
          <tr>
            <th scope="col">Answer</th>
            <th scope="col">Reason</th>
            <th scope="col">Latest</th>
            <th scope="col" className="right">
              Requests (7 days)
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((r) => (
            <tr key={r.code} data-code={r.code}>
              <td className="nowrap">
                <span className={`badge ${answerTone(r.status)}`}>{r.status}</span> <code>{r.code}</code>
              </td>
              <td>
                {r.message ?? '—'}
                {r.retryAfter !== null ? (
                  <div className="muted small">Sender asked to retry after {r.retryAfter} s</div>
                ) : null}
              </td>
              <td>
                <Time iso={r.lastAt} relative />
              </td>
              <td className="right">
                <Num n={r.requests} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

function Overview({ c }: { c: CollectorDetail }) {
  const cfg = c.config as Record<string, unknown>;
  const destinations = (cfg.destinations as string[] | undefined) ?? [];
  return (
    <div className="card overview-grid">
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd data-testid="status">
            <StatusBadge status={c.status} />
          </dd>
        </div>
        <div>
          <dt>Health</dt>
          <dd data-testid="health">
            <HealthBadge level={c.health.level} silent={c.health.silent} />
          </dd>
        </div>
        <div>
          <dt>Volume (last day)</dt>
          <dd data-testid="volume">
            <Num n={c.volumeLastDay} unit="events" />
          </dd>
        </div>
        <div>
          <dt>Last log received</dt>
          <dd>
            <Time iso={c.lastEventReceived} relative />
          </dd>
        </div>
        {c.ingest ? (
          <div>
            <dt>Requests (last hour)</dt>
            <dd data-testid="requests-last-hour">
              <Num n={c.ingest.traffic?.lastHour.requests ?? 0} unit="requests" />
            </dd>
          </div>
        ) : (
          <div>
            <dt>Account</dt>
            <dd>{c.account ? <Link to="/accounts">{c.account}</Link> : '—'}</dd>
          </div>
        )}
        <div>
          <dt>Destinations</dt>
          <dd>{destinations.join(', ') || '—'}</dd>
        </div>
        {c.ingest ? (
          <div>
            <dt>Schedule</dt>
            <dd>none: the sender pushes</dd>
          </div>
        ) : (
          <div>
            <dt>Interval</dt>
            <dd>every {String(cfg.interval ?? '5m')}</dd>
          </div>
        )}
        <div>
          <dt>Site · time zone</dt>
          <dd>
            {c.site ?? '—'} · {c.timezone ?? '—'}
          </dd>
        </div>
      </dl>
      <div className={`health-reasons health-${c.health.level.toLowerCase()}`}>
        <h2 className="small-heading">Health</h2>
        {c.health.reasons.length ? (
          <ul>
            {c.health.reasons.map((r) => (
              <li key={r}>
                <WithTimes text={r} />
              </li>
            ))}
          </ul>
        ) : c.ingest ? (
          <p>
            {c.ingest.traffic?.lastRequestAt
              ? 'No problems: every request of the last hour was accepted.'
              : 'No request received yet: configure the sender with the endpoint and a token.'}
          </p>
        ) : c.lastRun ? (
          <p>No problems: the last runs succeeded.</p>
        ) : (
          <p>No problems yet.</p>
        )}
        {c.ingest ? (
          c.ingest.traffic?.lastRequestAt ? (
            <p className="muted small">
              Last request <Time iso={c.ingest.traffic.lastRequestAt} relative />
            </p>
          ) : null
        ) : c.lastRun ? (
          <p className="muted small">
            Last run <Time iso={c.lastRun.startedAt} relative />: {c.lastRun.status}
          </p>
        ) : (
          <p className="muted small">No run yet.</p>
        )}
      </div>
    </div>
  );
}

/** The vendor told the account to wait: no run (scheduled or Run now) starts before then. */
function VendorWaitNotice({ c }: { c: CollectorDetail }) {
  const w = c.vendorWait!;
  return (
    <div className="alert alert-warn" role="status" data-testid="vendor-wait">
      <strong>
        Waiting for the vendor until <Time iso={w.until} />
      </strong>
      : {w.reason.message}
      <div className="action">
        No run of this collector, nor of the other collectors of account {c.account ?? '—'}, starts before
        then{w.collector && w.collector !== c.name ? ` (the vendor told collector ${w.collector})` : ''}.
      </div>
    </div>
  );
}

/** Destinations failing to acknowledge deliveries: since when, how often, and what to do. */
function FailingDestinations({ c }: { c: CollectorDetail }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="delivery-failures">
        <thead>
          <tr>
            <th scope="col">Destination</th>
            <th scope="col">Failing since</th>
            <th scope="col">Error and recommended action</th>
          </tr>
        </thead>
        <tbody>
          {c.deliveryFailures.map((f) => (
            <tr key={f.destination}>
              <td>
                <strong>{f.destination}</strong>
                <div className="muted small">
                  {plural(f.failures, c.ingest ? 'failed request' : 'failed attempt')}
                  {f.gaveUpAt ? ', run gave up' : ''}
                </div>
              </td>
              <td>
                <Time iso={f.since} relative />
              </td>
              <td>
                <code>{f.error.code}</code> {f.error.message}
                <div className="action">
                  <strong>Recommended action:</strong> {f.error.action}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Errors({ c }: { c: CollectorDetail }) {
  if (!c.errors.length) return <Empty>No errors recorded.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Code</th>
            <th scope="col">Message and recommended action</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col" className="right">
              Count
            </th>
          </tr>
        </thead>
        <tbody>
          {c.errors.map((e) => (
            <tr key={`${e.code}:${e.stream ?? ''}`}>
              <td>
                <span className={`badge err-${e.type}`}>{e.type}</span>
              </td>
              <td>
                <code>{e.code}</code>
                {e.stream ? <div className="muted small">{e.stream}</div> : null}
              </td>
              <td>
                <div>{e.message}</div>
                <div className="action">
                  <strong>Recommended action:</strong> {e.action}
                </div>
              </td>
              <td>
                <Time iso={e.firstSeen} />
              </td>
              <td>
                <Time iso={e.lastSeen} />
              </td>
              <td className="right">
                <Num n={e.count} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Checkpoints({
  c,
  editor,
  onReset,
}: {
  c: CollectorDetail;
  editor: boolean;
  onReset: (stream?: string) => void;
}) {
  if (!c.checkpoints.length) return <Empty>No checkpoint yet: the first run starts from the lookback.</Empty>;
  return (
    <>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Stream</th>
              <th scope="col">Position</th>
              <th scope="col">Updated</th>
              {editor ? (
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {c.checkpoints.map((cp) => (
              <tr key={cp.stream}>
                <td>{cp.stream}</td>
                <td>
                  <code className="clip" title={JSON.stringify(cp.value)}>
                    {JSON.stringify(cp.value)}
                  </code>
                </td>
                <td>
                  <Time iso={cp.updatedAt} />
                </td>
                {editor ? (
                  <td className="right">
                    <button type="button" className="small" onClick={() => onReset(cp.stream)}>
                      Reset<span className="sr-only"> {cp.stream}</span>
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editor && c.checkpoints.length > 1 ? (
        <p>
          <button type="button" className="small" onClick={() => onReset(undefined)}>
            Reset all streams
          </button>
        </p>
      ) : null}
    </>
  );
}

function Runs({ c }: { c: CollectorDetail }) {
  if (!c.runs.length) return <Empty>No run yet.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Result</th>
            <th scope="col" className="right">
              Events
            </th>
            <th scope="col" className="right">
              Pages
            </th>
            <th scope="col" className="right">
              Bytes
            </th>
            <th scope="col" className="right">
              Dead letters
            </th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {c.runs.map((r) => (
            <tr key={r.id}>
              <td>
                <Time iso={r.startedAt} />
              </td>
              <td>{r.endedAt ? duration(Date.parse(r.endedAt) - Date.parse(r.startedAt)) : 'running…'}</td>
              <td>
                <span className={`badge run-${r.status}`}>{r.status}</span>
              </td>
              <td className="right">
                <Num n={r.events} />
              </td>
              <td className="right">
                <Num n={r.pages} />
              </td>
              <td className="right">{bytes(r.bytes)}</td>
              <td className="right">
                <Num n={r.deadLetters} />
              </td>
              <td>{r.error ? <code title={r.error.message}>{r.error.code}</code> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeadLetters({ c }: { c: CollectorDetail }) {
  if (!c.deadLetters.length) return <Empty>No dead letters: every event read was delivered.</Empty>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Stream</th>
            <th scope="col">Reason</th>
            <th scope="col">Raw event</th>
          </tr>
        </thead>
        <tbody>
          {c.deadLetters.map((d) => (
            <tr key={d.id}>
              <td>
                <Time iso={d.at} />
              </td>
              <td>{d.stream}</td>
              <td>{d.reason}</td>
              <td>
                <details>
                  <summary>{d.raw.length > 60 ? `${d.raw.slice(0, 60)}…` : d.raw}</summary>
                  <pre className="raw">{d.raw}</pre>
                </details>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Text from the server with ISO times in it (health reasons): each time shown local, UTC on hover. */
function WithTimes({ text }: { text: string }) {
  const parts = text.split(/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)/);
  return <>{parts.map((p, i) => (i % 2 ? <Time key={`${i}-${p}`} iso={p} /> : p))}</>;
}
