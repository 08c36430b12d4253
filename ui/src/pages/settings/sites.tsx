import { type FormEvent, useState } from 'react';
import { api } from '../../api.ts';
import { Confirm, Empty, ErrorMessage, Loaded, Time, useAsync } from '../../components.tsx';
import { useCan } from '../../session.ts';

/** Settings → Sites: names stamped on events as `sitename`. */

export function Sites() {
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
