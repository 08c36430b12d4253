import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { ApiError } from './api.ts';
import { ago, compact, exact, hue, initials, localTime, utcTime } from './format.ts';
import { Markdown } from './markdown.tsx';

/** Shared pieces: data loading, the loading/empty/error states, times, numbers, badges, dialogs. */

export interface Async<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Runs `load` now, again when `deps` change, and every `refreshMs` if given (quietly: the data shown
 * stays until the new data is there).
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], refreshMs?: number): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);
  const run = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const data = await loadRef.current();
      if (mine === seq.current) setState({ data, loading: false });
    } catch (error) {
      if (mine === seq.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, []);
  useEffect(() => {
    setState({ loading: true });
    void run();
    if (!refreshMs) return;
    const t = setInterval(() => void run(), refreshMs);
    return () => clearInterval(t);
  }, deps);
  return { ...state, reload: run };
}

export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error as ApiError | Error;
  const issues = e instanceof ApiError ? e.issues : [];
  return (
    <div className="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      <span>{e.message || String(error)}</span>
      {issues.length ? (
        <ul className="issues">
          {issues.map((i) => (
            <li key={`${i.path}:${i.message}`}>
              {i.path ? <code>{i.path}</code> : null}
              {i.path ? ': ' : null}
              {i.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted loading" role="status">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** Renders an Async: loading, error (with a retry), or the content. */
export function Loaded<T>({ state, children }: { state: Async<T>; children: (data: T) => ReactNode }) {
  if (state.data !== undefined) {
    return (
      <>
        {state.error ? <ErrorMessage error={state.error} title="Refresh failed" /> : null}
        {children(state.data)}
      </>
    );
  }
  if (state.error)
    return (
      <div>
        <ErrorMessage error={state.error} />
        <button type="button" onClick={() => void state.reload()}>
          Retry
        </button>
      </div>
    );
  return <Loading />;
}

export function Time({ iso, relative }: { iso: string | null | undefined; relative?: boolean }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={utcTime(iso)}>
      {localTime(iso)}
      {relative ? <span className="muted"> ({ago(iso)})</span> : null}
    </time>
  );
}

export function Num({ n, unit }: { n: number; unit?: string }) {
  return (
    <span className="num" title={`${exact(n)}${unit ? ` ${unit}` : ''}`}>
      {compact(n)}
      {unit ? ` ${unit}` : ''}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function HealthBadge({ level, silent }: { level: string; silent?: boolean }) {
  return (
    <span className="health">
      <span className={`badge health-${level.toLowerCase()}`}>{level}</span>
      {silent ? (
        <span className="badge health-warning" title="Volume dropped by 75 % or more over the last 4 hours">
          silent
        </span>
      ) : null}
    </span>
  );
}

/** Setup guides and other text from the server that is written in Markdown (markdown.tsx). */
export function RichText({ text }: { text: string }) {
  return <Markdown text={text} />;
}

/** A modal dialog (native <dialog>: focus is kept inside, Escape closes it). */
export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  // A portal: the dialog may hold its own <form> even when opened from inside another form.
  return createPortal(
    <dialog
      ref={ref}
      className={wide ? 'modal wide' : 'modal'}
      aria-labelledby={id}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="modal-head">
        <h2 id={id}>{title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="modal-body">{children}</div>
    </dialog>,
    document.body,
  );
}

/** Asks before a consequential action; shows the action's error if it fails. */
export function Confirm({
  title,
  children,
  confirm,
  danger,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <Modal title={title} onClose={onClose}>
      <div className="confirm-text">{children}</div>
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button
          type="button"
          className={danger ? 'danger' : 'primary'}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await onConfirm();
              onClose();
            } catch (err) {
              setError(err);
              setBusy(false);
            }
          }}
        >
          {busy ? 'Working…' : confirm}
        </button>
      </div>
    </Modal>
  );
}

/** A brief message after an action, announced to screen readers. */
export function Notice({ children, onDone }: { children: ReactNode; onDone: () => void }) {
  useEffect(() => {
    const t = setTimeout(onDone, 6000);
    return () => clearTimeout(t);
  }, [onDone]);
  return (
    <div className="alert alert-ok" role="status">
      {children}
    </div>
  );
}

/** Label + control + help, wired for screen readers. */
export function Field({
  label,
  help,
  children,
  htmlFor,
}: {
  label: string;
  help?: ReactNode;
  children: ReactNode;
  htmlFor: string;
}) {
  return (
    <div className="field">
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {help ? (
        <div className="help" id={`${htmlFor}-help`}>
          {help}
        </div>
      ) : null}
    </div>
  );
}

/**
 * Each vendor's mark: letters and a colour of its own, chosen so that no mark reads like a health
 * badge (Okta's was "Ok", next to "OK"). Square tiles with white letters, where health and status
 * are pale pills. No logos are shipped: nothing is loaded from outside, and the CSP allows no inline
 * styles, so the colours are classes (styles.css, .vendor-*).
 */
const VENDOR_MARKS: Record<string, string> = {
  okta: 'Ot',
  'chatgpt-enterprise': 'Gpt',
  'gemini-enterprise': 'Gem',
  'gcp-cloud-logging': 'CL',
  'gcp-pubsub': 'PS',
  'gcp-security-command-center': 'SCC',
  'gmail-bigquery': 'GBq',
  github: 'GH',
  slack: 'Sl',
  zoom: 'Zm',
  'cisco-duo': 'Duo',
  'google-workspace': 'GW',
  'microsoft-365-management-activity': '365',
  'microsoft-entra-id-logs': 'Enl',
  'microsoft-entra-id-context': 'Enc',
  'microsoft-security-alerts': 'Def',
  'rest-api': '{ }',
  webhook: 'Wh',
  cribl: 'Cr',
  databahn: 'DB',
  'palo-alto-cortex-data-lake': 'PA',
  'zscaler-zia': 'Zs',
};

/** Letters for sources without a mark of their own whose initials and hue would match another's. */
const MARK_LETTERS: Record<string, string> = {
  'recorded-future-context': 'RFc',
  'salesforce-eventlog': 'SEv',
};

export function SourceMark({ id, title, small }: { id: string; title: string; small?: boolean }) {
  const known = Object.hasOwn(VENDOR_MARKS, id);
  const letters = known ? VENDOR_MARKS[id]! : (MARK_LETTERS[id] ?? initials(title));
  const colour = known ? `vendor-${id}` : `hue-${Math.floor(hue(id) / 30)}`;
  return (
    <span
      className={`mark ${colour}${small ? ' small' : ''}${letters.length > 2 ? ' long' : ''}`}
      data-mark={id}
      aria-hidden="true"
    >
      {letters}
    </span>
  );
}

/** Copies `text` to the clipboard; says so, or says to copy by hand when the browser refuses. */
export function CopyButton({ text, what }: { text: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="small copy"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState('copied');
        } catch {
          setState('failed');
        }
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy it' : 'Copy'}
      <span className="sr-only"> {what}</span>
    </button>
  );
}

/**
 * Values shown once (a new API token, a push collector's endpoint and ingest token): a table with each
 * value selectable in full and a Copy button, the same for every kind of token.
 */
export function SecretTable({ rows }: { rows: Array<{ label: string; value: string; testId?: string }> }) {
  return (
    <table className="table secrets">
      <tbody>
        {rows.map((r) => (
          <tr key={r.label}>
            <th scope="row">{r.label}</th>
            <td>
              <code className="secret-value" data-testid={r.testId}>
                {r.value}
              </code>
            </td>
            <td className="right">
              <CopyButton text={r.value} what={r.label} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * A push collector's endpoint and a new ingest token, shown once (after Install or a rotation): the
 * server keeps only its hash. `children` are the actions under it.
 */
export function IngestToken({
  name,
  token,
  children,
}: {
  name: string;
  token: string;
  children?: ReactNode;
}) {
  const url = `${window.location.origin}/ingest/${encodeURIComponent(name)}`;
  return (
    <section className="card one-time" aria-label="Ingest endpoint">
      <h2>Send events to {name}</h2>
      <p>
        Configure the sender with this endpoint and token. <strong>The token is shown only now</strong>: copy
        it before you leave this page.
      </p>
      <SecretTable
        rows={[
          { label: 'Endpoint', value: `POST ${url}`, testId: 'ingest-url' },
          { label: 'Token', value: token, testId: 'ingest-token' },
          { label: 'Header', value: `Authorization: Bearer ${token}` },
        ]}
      />
      {children}
    </section>
  );
}
