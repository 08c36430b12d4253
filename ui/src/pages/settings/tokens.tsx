import { type FormEvent, useState } from 'react';
import { type ApiToken, api } from '../../api.ts';
import {
  Confirm,
  Empty,
  ErrorMessage,
  Loaded,
  Modal,
  SecretTable,
  Time,
  useAsync,
} from '../../components.tsx';
import { useCan } from '../../session.ts';

/** Settings → API tokens: for scripts and CI, shown once when created. */

export function Tokens() {
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
        <Modal title={`Token ${created.name} created`} onClose={() => setCreated(undefined)} wide>
          <div className="one-time">
            <p>
              Send it as a bearer token. <strong>It is shown only now</strong>: copy it before you close this
              dialog.
            </p>
            <SecretTable
              rows={[
                { label: 'Token', value: created.token, testId: 'api-token' },
                { label: 'Header', value: `Authorization: Bearer ${created.token}` },
              ]}
            />
            <div className="actions">
              <button type="button" className="primary" onClick={() => setCreated(undefined)}>
                I have copied the token
              </button>
            </div>
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
