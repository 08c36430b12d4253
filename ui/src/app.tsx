import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { api, onSessionLost, type Session, setCsrfToken } from './api.ts';
import { ErrorMessage, Loading } from './components.tsx';
import { AccountsPage } from './pages/accounts.tsx';
import { CollectorPage } from './pages/collector.tsx';
import { LoginPage } from './pages/login.tsx';
import { CollectorWizard, EditCollector } from './pages/new-collector.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { SessionContext, useCan, useSession } from './session.ts';

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  const load = useCallback(async () => {
    try {
      const s = await api.session();
      setCsrfToken(s.csrfToken);
      setSession(s);
    } catch (err) {
      if ((err as { status?: number }).status === 401) setSession(null);
      else setError(err);
    }
  }, []);
  useEffect(() => {
    onSessionLost(() => setSession(null));
    void load();
  }, [load]);

  if (error)
    return (
      <main className="center-page">
        <ErrorMessage error={error} title="Tributary is not reachable" />
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </main>
    );
  if (session === undefined)
    return (
      <main className="center-page">
        <Loading />
      </main>
    );
  if (session === null) return <LoginPage onSignedIn={load} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell
        onSignOut={async () => {
          await api.logout().catch(() => undefined);
          setCsrfToken('');
          setSession(null);
          navigate('/', { replace: true });
        }}
      >
        <Routes />
      </Shell>
    </SessionContext.Provider>
  );
}

function Routes() {
  const { path } = useLocation();
  const editor = useCan('editor');
  let m: Record<string, string> | undefined;
  if (path === '/' || path === '/collectors') return <OverviewPage />;
  if (path === '/collectors/new') return editor ? <CollectorWizard /> : <Forbidden />;
  if ((m = match('/collectors/new/:source', path)))
    return editor ? <CollectorWizard sourceId={m.source} /> : <Forbidden />;
  if ((m = match('/collectors/:name/edit', path)))
    return editor ? <EditCollector name={m.name!} /> : <Forbidden />;
  if ((m = match('/collectors/:name', path))) return <CollectorPage name={m.name!} />;
  if (path === '/accounts') return <AccountsPage />;
  if (path === '/settings') return <SettingsPage tab="sites" />;
  if ((m = match('/settings/:tab', path))) return <SettingsPage tab={m.tab!} />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
      </p>
    </section>
  );
}

function Forbidden() {
  return (
    <section>
      <h1>Not allowed</h1>
      <p>Your role does not allow this page. Ask an admin for the editor role.</p>
    </section>
  );
}

function Shell({ children, onSignOut }: { children: ReactNode; onSignOut: () => void }) {
  const session = useSession();
  const { path } = useLocation();
  const editor = useCan('editor');
  const nav = [
    { to: '/', label: 'Overview', active: path === '/' || /^\/collectors\/(?!new)/.test(path) },
    ...(editor
      ? [{ to: '/collectors/new', label: 'New collector', active: path.startsWith('/collectors/new') }]
      : []),
    { to: '/accounts', label: 'Accounts', active: path.startsWith('/accounts') },
    { to: '/settings', label: 'Settings', active: path.startsWith('/settings') },
  ];
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          Tributary
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={n.active ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <span>
            {session.user.username}{' '}
            <span className={`badge role-${session.user.role}`}>{session.user.role}</span>
          </span>
          <button type="button" className="link-button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
