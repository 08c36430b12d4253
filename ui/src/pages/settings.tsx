import { Link } from '../router.tsx';
import { useCan } from '../session.ts';
import { Audit } from './settings/audit.tsx';
import { Destinations } from './settings/destinations.tsx';
import { EarlyAccess } from './settings/early-access.tsx';
import { Sites } from './settings/sites.tsx';
import { Tokens } from './settings/tokens.tsx';
import { Users } from './settings/users.tsx';

/** Settings: a page per tab (settings/*.tsx): sites, destinations, early access, users and roles, API tokens, audit log. */
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
