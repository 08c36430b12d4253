import { type FormEvent, useState } from 'react';
import { api, type Destination } from '../api.ts';
import { ErrorMessage } from '../components.tsx';

type Auth = 'none' | 'bearer' | 'basic' | 'header';

/**
 * A destination: a file (NDJSON with rotation), standard output, or an HTTP endpoint. Secrets (the
 * bearer token, basic password, header value) are write-only: on edit an empty one keeps the stored one.
 * Settings this form does not show are kept as they are.
 */
export function DestinationForm({
  existing,
  onSaved,
  onCancel,
}: {
  existing?: Destination;
  onSaved: (d: Destination) => void;
  onCancel: () => void;
}) {
  const c = (existing?.config ?? {}) as Record<string, any>;
  const [name, setName] = useState(existing?.name ?? '');
  const [kind, setKind] = useState<string>(existing?.kind ?? 'file');
  const [path, setPath] = useState<string>(c.path ?? '');
  const [maxBytes, setMaxBytes] = useState<string>(c.maxBytes ? String(c.maxBytes) : '');
  const [maxFiles, setMaxFiles] = useState<string>(c.maxFiles !== undefined ? String(c.maxFiles) : '');
  const [url, setUrl] = useState<string>(c.url ?? '');
  const [format, setFormat] = useState<string>(c.format ?? 'ndjson');
  const [gzip, setGzip] = useState<boolean>(Boolean(c.gzip));
  const [auth, setAuth] = useState<Auth>((c.auth?.type as Auth) ?? 'none');
  const [username, setUsername] = useState<string>(c.auth?.username ?? '');
  const [headerName, setHeaderName] = useState<string>(c.auth?.name ?? '');
  const [secret, setSecret] = useState('');
  const [headers, setHeaders] = useState<string>(
    Object.entries((c.headers ?? {}) as Record<string, string>)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const storedSecret = existing && c.auth?.type === auth;

  function config(): Record<string, unknown> {
    if (kind === 'stdout') return { kind };
    if (kind === 'file') {
      const out: Record<string, unknown> = { ...(existing?.kind === 'file' ? c : {}), kind, path };
      if (maxBytes) out.maxBytes = Number(maxBytes);
      if (maxFiles) out.maxFiles = Number(maxFiles);
      return out;
    }
    const out: Record<string, unknown> = { ...(existing?.kind === 'http' ? c : {}), kind, url, format, gzip };
    out.headers = Object.fromEntries(
      headers
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => {
          const at = l.indexOf(':');
          return at > 0 ? [l.slice(0, at).trim(), l.slice(at + 1).trim()] : [l, ''];
        }),
    );
    const keep = (v: string) => (v ? v : undefined); // empty: the stored secret stays
    if (auth === 'none') delete out.auth;
    else if (auth === 'bearer') out.auth = { type: auth, token: keep(secret) };
    else if (auth === 'basic') out.auth = { type: auth, username, password: keep(secret) };
    else out.auth = { type: auth, name: headerName, value: keep(secret) };
    return JSON.parse(JSON.stringify(out)); // drops the undefined secrets
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const saved = existing
        ? await api.updateDestination(existing.name, config())
        : await api.createDestination({ name, config: config() } as Parameters<
            typeof api.createDestination
          >[0]);
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const secretLabel = auth === 'bearer' ? 'Token' : auth === 'basic' ? 'Password' : 'Header value';
  return (
    <form className="stack" onSubmit={submit} aria-label={existing ? 'Edit destination' : 'New destination'}>
      <div className="row">
        <div className="field">
          <label htmlFor="dest-name">Name</label>
          <input
            id="dest-name"
            required
            disabled={Boolean(existing)}
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="dest-kind">Kind</label>
          <select id="dest-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="file">File (NDJSON)</option>
            <option value="http">HTTP endpoint</option>
            <option value="stdout">Standard output</option>
          </select>
        </div>
      </div>
      {kind === 'file' ? (
        <>
          <div className="field">
            <label htmlFor="dest-path">Path</label>
            <input id="dest-path" required value={path} onChange={(e) => setPath(e.target.value)} />
            <div className="help">
              One event per line, in the output root (TRIBUTARY_FILE_ROOT, default the data directory's output
              folder): a relative path such as okta/events.ndjson is placed there.
            </div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="dest-maxbytes">Rotate at bytes (optional)</label>
              <input
                id="dest-maxbytes"
                type="number"
                min={1}
                value={maxBytes}
                onChange={(e) => setMaxBytes(e.target.value)}
                placeholder="104857600"
              />
            </div>
            <div className="field">
              <label htmlFor="dest-maxfiles">Rotated files kept (optional)</label>
              <input
                id="dest-maxfiles"
                type="number"
                min={1}
                value={maxFiles}
                onChange={(e) => setMaxFiles(e.target.value)}
                placeholder="10"
              />
            </div>
          </div>
        </>
      ) : null}
      {kind === 'http' ? (
        <>
          <div className="field">
            <label htmlFor="dest-url">URL</label>
            <input
              id="dest-url"
              required
              type="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              placeholder="https://collector.example.com/ingest"
            />
            <div className="help">https, or http only to a loopback host.</div>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="dest-format">Body format</label>
              <select id="dest-format" value={format} onChange={(e) => setFormat(e.target.value)}>
                <option value="ndjson">NDJSON lines</option>
                <option value="json">JSON array</option>
              </select>
            </div>
            <label className="check">
              <input type="checkbox" checked={gzip} onChange={(e) => setGzip(e.target.checked)} /> Compress
              with gzip
            </label>
          </div>
          <div className="row">
            <div className="field">
              <label htmlFor="dest-auth">Authentication</label>
              <select id="dest-auth" value={auth} onChange={(e) => setAuth(e.target.value as Auth)}>
                <option value="none">None</option>
                <option value="bearer">Bearer token</option>
                <option value="basic">Basic (user and password)</option>
                <option value="header">Header (e.g. X-Api-Key)</option>
              </select>
            </div>
            {auth === 'basic' ? (
              <div className="field">
                <label htmlFor="dest-user">User</label>
                <input
                  id="dest-user"
                  required
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                />
              </div>
            ) : null}
            {auth === 'header' ? (
              <div className="field">
                <label htmlFor="dest-header">Header name</label>
                <input
                  id="dest-header"
                  required
                  value={headerName}
                  onChange={(e) => setHeaderName(e.target.value)}
                />
              </div>
            ) : null}
            {auth !== 'none' ? (
              <div className="field">
                <label htmlFor="dest-secret">{secretLabel}</label>
                <input
                  id="dest-secret"
                  type="password"
                  autoComplete="new-password"
                  required={!storedSecret}
                  value={secret}
                  onChange={(e) => setSecret(e.target.value)}
                />
                {storedSecret ? (
                  <div className="help">Write-only. Leave empty to keep the stored value.</div>
                ) : null}
              </div>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="dest-headers">Extra headers (optional, one “Name: value” per line)</label>
            <textarea
              id="dest-headers"
              rows={3}
              value={headers}
              onChange={(e) => setHeaders(e.target.value)}
            />
          </div>
        </>
      ) : null}
      {kind === 'stdout' ? (
        <p className="muted">Events go to Tributary's standard output as NDJSON.</p>
      ) : null}
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : existing ? 'Save destination' : 'Create destination'}
        </button>
      </div>
    </form>
  );
}
