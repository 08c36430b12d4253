import { api } from '../api.ts';
import { Empty, HealthBadge, Loaded, Num, SourceMark, StatusBadge, Time, useAsync } from '../components.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { useCan } from '../session.ts';

/**
 * Every collector: type, name, volume in the last day, last log received, status and health. The
 * filters live in the URL (?q=&vendor=&status=), so a reload, a bookmark or a shared link keeps them.
 */
export function OverviewPage() {
  const collectors = useAsync(() => api.collectors(), [], 5000);
  const editor = useCan('editor');
  const { path, query } = useLocation();
  const vendor = query.get('vendor') ?? '';
  const status = query.get('status') ?? '';
  const search = query.get('q') ?? '';
  /** Changes filters in the URL, replacing the history entry (each keystroke is no page of its own). */
  const setFilters = (change: Record<string, string>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(change)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    const qs = next.toString();
    navigate(`${path}${qs ? `?${qs}` : ''}`, { replace: true, keepScroll: true });
  };
  const setVendor = (v: string) => setFilters({ vendor: v });
  const setStatus = (v: string) => setFilters({ status: v });
  const setSearch = (v: string) => setFilters({ q: v });

  return (
    <section>
      <div className="page-head">
        <h1>Collectors</h1>
        {editor ? (
          <Link to="/collectors/new" className="button primary">
            New collector
          </Link>
        ) : null}
      </div>
      <Loaded state={collectors}>
        {(list) => {
          const vendors = [...new Set(list.map((c) => c.sourceTitle))].sort();
          const q = search.trim().toLowerCase();
          const shown = list
            .filter((c) => !vendor || c.sourceTitle === vendor)
            .filter((c) => !status || c.status === status)
            .filter(
              (c) =>
                !q ||
                [c.name, c.sourceTitle, c.source, c.account ?? '', c.site ?? ''].some((v) =>
                  v.toLowerCase().includes(q),
                ),
            )
            .sort((a, b) => a.name.localeCompare(b.name));
          const counts = { running: 0, stopped: 0, error: 0 } as Record<string, number>;
          for (const c of list) counts[c.status] = (counts[c.status] ?? 0) + 1;
          if (!list.length)
            return (
              <Empty>
                <p>No collectors yet.</p>
                {editor ? (
                  <p>
                    <Link to="/collectors/new" className="button primary">
                      Create your first collector
                    </Link>
                  </p>
                ) : (
                  <p className="muted">An editor or admin can create one.</p>
                )}
              </Empty>
            );
          return (
            <>
              <div className="summary">
                <span>
                  <strong>{list.length}</strong> collectors
                </span>
                <span>
                  <StatusBadge status="running" /> {counts.running}
                </span>
                <span>
                  <StatusBadge status="error" /> {counts.error}
                </span>
                <span>
                  <StatusBadge status="stopped" /> {counts.stopped}
                </span>
              </div>
              <search className="toolbar">
                <div className="field inline">
                  <label htmlFor="filter-search">Search</label>
                  <input
                    id="filter-search"
                    type="search"
                    placeholder="Name, vendor, account or site"
                    value={search}
                    onChange={(e) => setSearch(e.target.value)}
                  />
                </div>
                <div className="field inline">
                  <label htmlFor="filter-vendor">Vendor</label>
                  <select id="filter-vendor" value={vendor} onChange={(e) => setVendor(e.target.value)}>
                    <option value="">All vendors</option>
                    {vendors.map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </select>
                </div>
                <div className="field inline">
                  <label htmlFor="filter-status">Status</label>
                  <select id="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
                    <option value="">All statuses</option>
                    <option value="running">Running</option>
                    <option value="stopped">Stopped</option>
                    <option value="error">Error</option>
                  </select>
                </div>
              </search>
              {shown.length ? (
                <div className="table-wrap">
                  <table className="table middle">
                    <thead>
                      <tr>
                        <th scope="col">Type</th>
                        <th scope="col">Name</th>
                        <th scope="col" className="right">
                          Volume (last day)
                        </th>
                        <th scope="col">Last log received</th>
                        <th scope="col">Status</th>
                        <th scope="col">Health</th>
                      </tr>
                    </thead>
                    <tbody>
                      {shown.map((c) => (
                        <tr key={c.name} data-collector={c.name}>
                          <td>
                            <span className="type-cell">
                              <SourceMark id={c.source} title={c.sourceTitle} small />
                              {c.sourceTitle}
                            </span>
                          </td>
                          <td>
                            <Link to={`/collectors/${encodeURIComponent(c.name)}`}>{c.name}</Link>
                            {c.site ? <div className="muted small">site {c.site}</div> : null}
                          </td>
                          <td className="right">
                            <Num n={c.volumeLastDay} unit="events" />
                          </td>
                          <td>
                            <Time iso={c.lastEventReceived} />
                          </td>
                          <td>
                            <StatusBadge status={c.status} />
                          </td>
                          <td>
                            <span title={c.health.reasons.join('; ') || 'No problems'}>
                              <HealthBadge level={c.health.level} silent={c.health.silent} />
                            </span>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <Empty>
                  <p>No collector matches these filters.</p>
                  <button type="button" onClick={() => setFilters({ vendor: '', status: '', q: '' })}>
                    Clear filters
                  </button>
                </Empty>
              )}
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
