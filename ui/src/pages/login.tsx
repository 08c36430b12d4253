import { type FormEvent, useEffect, useState } from 'react';
import { api, setCsrfToken } from '../api.ts';
import { ErrorMessage } from '../components.tsx';
import { navigate } from '../router.tsx';

/** Sign-in, or the first admin's creation when opened with the one-time setup link (/?setup=TOKEN). */
export function LoginPage({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const setupToken = new URLSearchParams(location.search).get('setup');
  const [mode, setMode] = useState<'checking' | 'login' | 'setup'>(setupToken ? 'checking' : 'login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  /** No user exists yet: signing in cannot work until the first admin is created. */
  const [noUsers, setNoUsers] = useState(false);

  useEffect(() => {
    api
      .setupNeeded()
      .then((r) => {
        setNoUsers(r.needed);
        if (setupToken) setMode(r.needed ? 'setup' : 'login');
      })
      .catch(() => setupToken && setMode('login'));
  }, [setupToken]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'setup') {
        await api.setup({ token: setupToken ?? '', username, password });
        navigate('/', { replace: true });
      }
      const s = await api.login({ username, password });
      setCsrfToken(s.csrfToken);
      if (location.search.includes('setup=')) navigate('/', { replace: true });
      await onSignedIn();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const setup = mode === 'setup';
  return (
    <main className="login-page">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand big">
          <img src="/favicon.svg" alt="" width="32" height="32" /> Tributary
        </div>
        <h1 id="login-title">{setup ? 'Create the first admin' : 'Sign in'}</h1>
        {setup ? (
          <p className="muted">
            This one-time link creates the first administrator. Choose a username and a password of at least
            12 characters.
          </p>
        ) : null}
        {!setup && noUsers ? (
          <div className="alert alert-info" role="note" data-testid="first-admin-hint">
            <strong>No user exists yet.</strong> Create the first admin with the one-time setup link that{' '}
            <code>tributary serve</code> printed when it started (<code>…/?setup=…</code>), or stop it and
            start it again with <code>TRIBUTARY_ADMIN_PASSWORD</code> set (and{' '}
            <code>TRIBUTARY_ADMIN_USER</code>, default <code>admin</code>).
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="login-username">Username</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete={setup ? 'new-password' : 'current-password'}
            required
            minLength={setup ? 12 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <ErrorMessage error={error} />
        <button type="submit" className="primary wide" disabled={busy || mode === 'checking'}>
          {busy ? 'Signing in…' : setup ? 'Create admin and sign in' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
