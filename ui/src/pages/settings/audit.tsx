import { useState } from 'react';
import { type AuditRecord, api, auditQuery } from '../../api.ts';
import { Empty, ErrorMessage, Loaded, Time, useAsync } from '../../components.tsx';

/** Settings → Audit log (admins): filters, paging, exports. */

const EMPTY_FILTERS = { actor: '', action: '', targetType: '', target: '', since: '', until: '' };

export function Audit() {
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
