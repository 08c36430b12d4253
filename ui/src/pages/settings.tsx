import { type FormEvent, useState } from 'react';
import { type ApiToken, type AuditRecord, api, auditQuery, type Role, type User } from '../api.ts';
import { Confirm, Empty, ErrorMessage, Loaded, Modal, Time, useAsync } from '../components.tsx';
import { Link } from '../router.tsx';
import { useCan, useSession } from '../session.ts';
import { Destinations } from './destinations.tsx';

/** Settings: sites, destinations, early access, users and roles, API tokens, audit log. */
export function SettingsPage({ tab }: { tab: string }) {
  const admin = useCan('admin');
  const tabs = [
    { id: 'sites', label: 'Sites' },
    { id: 'destinations', label: 'Destinations' },
    { id: 'early-access', label: 'Early access' },
    ...(admin ? [{ id: 'users', label: 'Users and roles' }] : []),
    { id: 'tokens', label: 'API tokens' },
    ...(admin ? [{ id: 'audit', label: 'Audit log' }] : []),
  ];
  const current = tabs.find((t) => t.id === tab);
  return (
    <section>
      <h1>Settings</h1>
      <nav className="tabs" aria-label="Settings sections">
        {tabs.map((t) => (
          <Link key={t.id} to={`/settings/${t.id}`} aria-current={t.id === tab ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {!current ? (
        <p>
          {tab === 'users' || tab === 'audit'
            ? 'This section needs the admin role.'
            : 'There is no such section of the settings.'}
        </p>
      ) : tab === 'sites' ? (
        <Sites />
      ) : tab === 'destinations' ? (
        <Destinations />
      ) : tab === 'early-access' ? (
        <EarlyAccess />
      ) : tab === 'users' ? (
        <Users />
      ) : tab === 'tokens' ? (
        <Tokens />
      ) : (
        <Audit />
      )}
    </section>
  );
}

// --- sites ---

function Sites() {
  const state = useAsync(() => api.sites(), []);
  const editor = useCan('editor');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [rename, setRename] = useState<{ from: string; to: string }>();
  const [remove, setRemove] = useState<string>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      await api.createSite(name);
      setName('');
      await state.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="card">
      <h2>Sites</h2>
      <p className="muted">
        A site name is stamped on every event of its collectors as <code>sitename</code>, to tell apart
        environments with overlapping IP addresses.
      </p>
      {editor ? (
        <form className="inline-form" onSubmit={create}>
          <div className="field inline">
            <label htmlFor="site-name">New site</label>
            <input
              id="site-name"
              required
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="e.g. hq"
            />
          </div>
          <button type="submit" className="primary">
            Add site
          </button>
        </form>
      ) : null}
      <ErrorMessage error={error} />
      <Loaded state={state}>
        {(sites) =>
          sites.length ? (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Used by</th>
                  <th scope="col">Created</th>
                  {editor ? (
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {sites.map((s) => (
                  <tr key={s.name}>
                    <td>{s.name}</td>
                    <td>{s.usedBy.join(', ') || <span className="muted">no collector</span>}</td>
                    <td>
                      <Time iso={s.createdAt} />
                    </td>
                    {editor ? (
                      <td className="right nowrap">
                        <button
                          type="button"
                          className="small"
                          onClick={() => setRename({ from: s.name, to: s.name })}
                        >
                          Rename<span className="sr-only"> {s.name}</span>
                        </button>{' '}
                        <button type="button" className="small danger" onClick={() => setRemove(s.name)}>
                          Delete<span className="sr-only"> {s.name}</span>
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No sites yet.</Empty>
          )
        }
      </Loaded>
      {rename ? (
        <Confirm
          title={`Rename site ${rename.from}`}
          confirm="Rename"
          onClose={() => setRename(undefined)}
          onConfirm={async () => {
            await api.renameSite(rename.from, rename.to);
            await state.reload();
          }}
        >
          <div className="field">
            <label htmlFor="site-rename">New name</label>
            <input
              id="site-rename"
              value={rename.to}
              onChange={(e) => setRename({ ...rename, to: e.target.value })}
            />
            <div className="help">Its collectors follow the new name.</div>
          </div>
        </Confirm>
      ) : null}
      {remove ? (
        <Confirm
          title={`Delete site ${remove}?`}
          confirm="Delete site"
          danger
          onClose={() => setRemove(undefined)}
          onConfirm={async () => {
            await api.deleteSite(remove);
            await state.reload();
          }}
        >
          <p>Only a site no collector uses can be deleted.</p>
        </Confirm>
      ) : null}
    </div>
  );
}

// --- early access ---

function EarlyAccess() {
  const state = useAsync(() => api.settings(), []);
  const admin = useCan('admin');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <div className="card">
      <h2>Early access</h2>
      <p className="muted">
        Early-access sources are new: their settings and event shapes may still change. Enabling early access
        lets editors install them.
      </p>
      <Loaded state={state}>
        {(s) => (
          <>
            <label className="check big">
              <input
                type="checkbox"
                checked={s.earlyAccess}
                disabled={!admin || busy}
                onChange={async (e) => {
                  setBusy(true);
                  setError(undefined);
                  try {
                    await api.updateSettings({ earlyAccess: e.target.checked });
                    await state.reload();
                  } catch (err) {
                    setError(err);
                  } finally {
                    setBusy(false);
                  }
                }}
              />
              Offer early-access sources
            </label>
            {!admin ? <p className="help">Only an admin can change this.</p> : null}
            <EgressAllowList
              initial={s.egressAllowList}
              disabled={!admin || busy}
              save={async (list) => {
                setBusy(true);
                setError(undefined);
                try {
                  await api.updateSettings({ egressAllowList: list });
                  await state.reload();
                } catch (err) {
                  setError(err);
                } finally {
                  setBusy(false);
                }
              }}
            />
          </>
        )}
      </Loaded>
      <ErrorMessage error={error} />
    </div>
  );
}

/**
 * Link-local and cloud metadata addresses are refused to collectors and destinations (they hand out the
 * host's own cloud credentials); an admin may allow specific ones, e.g. an on-premises service there.
 */
function EgressAllowList({
  initial,
  disabled,
  save,
}: {
  initial: string[];
  disabled: boolean;
  save: (list: string[]) => Promise<void>;
}) {
  const [text, setText] = useState(initial.join('\n'));
  return (
    <div className="field">
      <h3>Network: link-local and metadata addresses</h3>
      <label htmlFor="egress-allow">Allowed anyway (addresses or CIDR ranges, one per line)</label>
      <textarea
        id="egress-allow"
        rows={3}
        value={text}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        placeholder="169.254.10.0/24"
      />
      <div className="help">
        Collectors and destinations never connect to 169.254.0.0/16, fe80::/10 or cloud metadata endpoints
        unless they are listed here. Private ranges are allowed and noted in the audit log.
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={disabled}
          onClick={() =>
            save(
              text
                .split(/[\s,]+/)
                .map((v) => v.trim())
                .filter(Boolean),
            )
          }
        >
          Save allow-list
        </button>
      </div>
    </div>
  );
}

// --- users ---

function Users() {
  const state = useAsync(() => api.users(), []);
  const me = useSession().user;
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' as Role });
  const [error, setError] = useState<unknown>();
  const [rowError, setRowError] = useState<unknown>();
  const [password, setPassword] = useState<{ user: User; value: string }>();
  const [remove, setRemove] = useState<User>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      await api.createUser(form);
      setForm({ username: '', password: '', role: 'viewer' });
      await state.reload();
    } catch (err) {
      setError(err);
    }
  }
  async function update(u: User, body: { role?: Role; disabled?: boolean }) {
    setRowError(undefined);
    try {
      await api.updateUser(u.id, body);
      await state.reload();
    } catch (err) {
      setRowError(err);
    }
  }

  return (
    <div className="card">
      <h2>Users and roles</h2>
      <p className="muted">
        <strong>Viewer</strong>: sees everything, changes nothing. <strong>Editor</strong>: also manages
        collectors, accounts, sites and destinations. <strong>Admin</strong>: also users, instance settings
        and the audit log.
      </p>
      <form className="inline-form" onSubmit={create} aria-label="New user">
        <div className="field inline">
          <label htmlFor="user-name">Username</label>
          <input
            id="user-name"
            required
            autoComplete="off"
            value={form.username}
            onChange={(e) => setForm({ ...form, username: e.target.value })}
          />
        </div>
        <div className="field inline">
          <label htmlFor="user-password">Password</label>
          <input
            id="user-password"
            type="password"
            required
            minLength={12}
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </div>
        <div className="field inline">
          <label htmlFor="user-role">Role</label>
          <select
            id="user-role"
            value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as Role })}
          >
            <option value="viewer">viewer</option>
            <option value="editor">editor</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <button type="submit" className="primary">
          Add user
        </button>
      </form>
      <ErrorMessage error={error} />
      <ErrorMessage error={rowError} />
      <Loaded state={state}>
        {(users) => (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.username}
                    {u.id === me.id ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${u.id}`}>
                      Role of {u.username}
                    </label>
                    <select
                      id={`role-${u.id}`}
                      value={u.role}
                      onChange={(e) => update(u, { role: e.target.value as Role })}
                    >
                      <option value="viewer">viewer</option>
                      <option value="editor">editor</option>
                      <option value="admin">admin</option>
                    </select>
                  </td>
                  <td>{u.disabled ? <span className="badge status-stopped">disabled</span> : 'active'}</td>
                  <td>
                    <Time iso={u.lastLoginAt} />
                  </td>
                  <td className="right nowrap">
                    <button
                      type="button"
                      className="small"
                      onClick={() => setPassword({ user: u, value: '' })}
                    >
                      Set password<span className="sr-only"> of {u.username}</span>
                    </button>{' '}
                    <button
                      type="button"
                      className="small"
                      onClick={() => update(u, { disabled: !u.disabled })}
                    >
                      {u.disabled ? 'Enable' : 'Disable'}
                      <span className="sr-only"> {u.username}</span>
                    </button>{' '}
                    {u.id !== me.id ? (
                      <button type="button" className="small danger" onClick={() => setRemove(u)}>
                        Delete<span className="sr-only"> {u.username}</span>
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
      {password ? (
        <Confirm
          title={`Set the password of ${password.user.username}`}
          confirm="Set password"
          onClose={() => setPassword(undefined)}
          onConfirm={() => api.updateUser(password.user.id, { password: password.value })}
        >
          <div className="field">
            <label htmlFor="new-password">New password (12+ characters)</label>
            <input
              id="new-password"
              type="password"
              autoComplete="new-password"
              value={password.value}
              onChange={(e) => setPassword({ ...password, value: e.target.value })}
            />
            <div className="help">Their sessions end.</div>
          </div>
        </Confirm>
      ) : null}
      {remove ? (
        <Confirm
          title={`Delete user ${remove.username}?`}
          confirm="Delete user"
          danger
          onClose={() => setRemove(undefined)}
          onConfirm={async () => {
            await api.deleteUser(remove.id);
            await state.reload();
          }}
        >
          <p>Their sessions and API tokens end with them.</p>
        </Confirm>
      ) : null}
    </div>
  );
}

// --- API tokens ---

function Tokens() {
  const admin = useCan('admin');
  const state = useAsync(async () => {
    const [tokens, users] = await Promise.all([api.tokens(), admin ? api.users() : Promise.resolve([])]);
    return { tokens, users };
  }, [admin]);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<ApiToken & { token: string }>();
  const [revoke, setRevoke] = useState<ApiToken>();

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(undefined);
    try {
      const t = await api.createToken({
        name,
        ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
      });
      setCreated(t);
      setName('');
      setExpires('');
      await state.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="card">
      <h2>API tokens</h2>
      <p className="muted">
        For scripts and CI: send <code>Authorization: Bearer trb_…</code>. A token acts with your role. It is
        shown once, when created.
      </p>
      <form className="inline-form" onSubmit={create} aria-label="New API token">
        <div className="field inline">
          <label htmlFor="token-name">Name</label>
          <input
            id="token-name"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. terraform"
          />
        </div>
        <div className="field inline">
          <label htmlFor="token-expires">Expires (optional)</label>
          <input
            id="token-expires"
            type="datetime-local"
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </div>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      <ErrorMessage error={error} />
      <Loaded state={state}>
        {({ tokens, users }) =>
          tokens.length ? (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  {admin ? <th scope="col">User</th> : null}
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((t) => (
                  <tr key={t.id} className={t.revokedAt ? 'muted' : undefined}>
                    <td>{t.name}</td>
                    <td>
                      <code>{t.hint}</code>
                    </td>
                    {admin ? <td>{users.find((u) => u.id === t.userId)?.username ?? t.userId}</td> : null}
                    <td>
                      <Time iso={t.createdAt} />
                    </td>
                    <td>
                      <Time iso={t.expiresAt} />
                    </td>
                    <td>
                      <Time iso={t.lastUsedAt} />
                    </td>
                    <td className="right">
                      {t.revokedAt ? (
                        <span className="badge status-stopped">revoked</span>
                      ) : (
                        <button type="button" className="small danger" onClick={() => setRevoke(t)}>
                          Revoke<span className="sr-only"> {t.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>No API tokens.</Empty>
          )
        }
      </Loaded>
      {created ? (
        <Modal title={`Token ${created.name} created`} onClose={() => setCreated(undefined)}>
          <p>Copy it now: it is not shown again.</p>
          <label className="sr-only" htmlFor="new-token">
            New API token
          </label>
          <input
            id="new-token"
            className="token"
            readOnly
            value={created.token}
            onFocus={(e) => e.target.select()}
          />
          <div className="actions">
            <button
              type="button"
              onClick={() => navigator.clipboard?.writeText(created.token).catch(() => undefined)}
            >
              Copy
            </button>
            <button type="button" className="primary" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </Modal>
      ) : null}
      {revoke ? (
        <Confirm
          title={`Revoke token ${revoke.name}?`}
          confirm="Revoke"
          danger
          onClose={() => setRevoke(undefined)}
          onConfirm={async () => {
            await api.revokeToken(revoke.id);
            await state.reload();
          }}
        >
          <p>Programs using it are refused from now on.</p>
        </Confirm>
      ) : null}
    </div>
  );
}

// --- audit ---

const EMPTY_FILTERS = { actor: '', action: '', targetType: '', target: '', since: '', until: '' };

function Audit() {
  const [draft, setDraft] = useState(EMPTY_FILTERS);
  const [filters, setFilters] = useState(EMPTY_FILTERS);
  const [older, setOlder] = useState<AuditRecord[]>([]);
  const [more, setMore] = useState<{ busy?: boolean; error?: unknown; done?: boolean }>({});
  const query = {
    ...filters,
    since: filters.since ? new Date(filters.since).toISOString() : '',
    until: filters.until ? new Date(filters.until).toISOString() : '',
  };
  const state = useAsync(() => api.audit({ ...query, limit: '50' }), [JSON.stringify(filters)]);
  const rows = [...(state.data ?? []), ...older];

  async function loadOlder() {
    const last = rows.at(-1);
    if (!last) return;
    setMore({ busy: true });
    try {
      const page = await api.audit({ ...query, limit: '50', beforeId: String(last.id) });
      setOlder((o) => [...o, ...page]);
      setMore({ done: page.length < 50 });
    } catch (error) {
      setMore({ error });
    }
  }

  const field = (key: keyof typeof EMPTY_FILTERS, label: string, type = 'text') => (
    <div className="field inline">
      <label htmlFor={`audit-${key}`}>{label}</label>
      <input
        id={`audit-${key}`}
        type={type}
        value={draft[key]}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
      />
    </div>
  );

  return (
    <div className="card">
      <h2>Audit log</h2>
      <form
        className="filter-grid"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOlder([]);
          setMore({});
          setFilters(draft);
        }}
      >
        {field('actor', 'Actor')}
        {field('action', 'Action')}
        {field('targetType', 'Target type')}
        {field('target', 'Target')}
        {field('since', 'Since', 'datetime-local')}
        {field('until', 'Until', 'datetime-local')}
        <div className="filter-buttons">
          <button type="submit" className="primary">
            Filter
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY_FILTERS);
              setFilters(EMPTY_FILTERS);
              setOlder([]);
              setMore({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p className="exports">
        Export with these filters (up to 1000 entries):{' '}
        <a href={`/api/audit?${auditQuery({ ...query, limit: '1000', format: 'csv' })}`} download>
          CSV
        </a>{' '}
        ·{' '}
        <a href={`/api/audit?${auditQuery({ ...query, limit: '1000', format: 'ndjson' })}`} download>
          NDJSON
        </a>
      </p>
      <Loaded state={state}>
        {() =>
          rows.length ? (
            <>
              <table className="table audit">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">IP</th>
                    <th scope="col">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.id} data-action={r.action}>
                      <td className="nowrap">
                        <Time iso={r.at} />
                      </td>
                      <td>{r.actor}</td>
                      <td>
                        <code>{r.action}</code>
                      </td>
                      <td>
                        <span className="muted">{r.targetType}</span> {r.target ?? ''}
                      </td>
                      <td>{r.ip ?? ''}</td>
                      <td>
                        {r.before !== undefined || r.after !== undefined ? (
                          <details>
                            <summary>Details</summary>
                            {r.before !== undefined ? (
                              <>
                                <div className="small muted">Before</div>
                                <pre className="raw">{JSON.stringify(r.before, null, 2)}</pre>
                              </>
                            ) : null}
                            {r.after !== undefined ? (
                              <>
                                <div className="small muted">After</div>
                                <pre className="raw">{JSON.stringify(r.after, null, 2)}</pre>
                              </>
                            ) : null}
                          </details>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <ErrorMessage error={more.error} />
              {!more.done && rows.length >= 50 ? (
                <button type="button" onClick={loadOlder} disabled={more.busy}>
                  {more.busy ? 'Loading…' : 'Older entries'}
                </button>
              ) : null}
            </>
          ) : (
            <Empty>No audit entries match.</Empty>
          )
        }
      </Loaded>
    </div>
  );
}
