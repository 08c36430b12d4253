import { type FormEvent, useState } from 'react';
import { api, type Role, type User } from '../../api.ts';
import { Confirm, ErrorMessage, Loaded, Time, useAsync } from '../../components.tsx';
import { useSession } from '../../session.ts';

/** Settings → Users and roles (admins). */

export function Users() {
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
