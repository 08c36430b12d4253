import { type FormEvent, useMemo, useRef, useState } from 'react';
import {
  type Account,
  type AccountKindInfo,
  ApiError,
  api,
  type CollectorDefinition,
  type CollectorDetail,
  type Destination,
  type ErrorInfo,
  type NewAccount,
  type PreviewResult,
  type Site,
  type SourceInfo,
  type TestResult,
} from '../api.ts';
import {
  Confirm,
  Empty,
  ErrorMessage,
  IngestToken,
  Loaded,
  Loading,
  Modal,
  RichText,
  SourceMark,
  Time,
  useAsync,
} from '../components.tsx';
import { familyTitle } from '../format.ts';
import { Link, navigate } from '../router.tsx';
import { SchemaForm, type SchemaFormRef } from '../schema-form.tsx';
import { useCan } from '../session.ts';
import { TimeZonePicker } from '../time-zone-picker.tsx';
import { AccountForm } from './account-form.tsx';

/**
 * New Collector: pick a source tile → read its prerequisites (setup guide) → fill in the generated form
 * (name, account, settings, streams, site, time zone, interval, destinations) → Test Connection → Install.
 */
export function CollectorWizard({ sourceId }: { sourceId?: string }) {
  const catalog = useAsync(() => api.sources(), []);
  return (
    <section>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Collectors</Link> / <span aria-current="page">New collector</span>
      </nav>
      <Loaded state={catalog}>
        {(sources) => {
          if (!sourceId) return <SourcePicker sources={sources} />;
          const source = sources.find((s) => s.id === sourceId);
          if (!source)
            return (
              <Empty>
                <p>There is no source “{sourceId}”.</p>
                <Link to="/collectors/new">Choose a source</Link>
              </Empty>
            );
          if (!source.available)
            return (
              <>
                <Steps current={0} />
                <div className="alert alert-warn" role="alert">
                  {source.title} is an early-access source. An admin must enable early access in{' '}
                  <Link to="/settings/early-access">Settings → Early access</Link> first.
                </div>
              </>
            );
          return <SourceSteps source={source} />;
        }}
      </Loaded>
    </section>
  );
}

const STEPS = ['Choose a source', 'Prerequisites', 'Configure', 'Test and install'];

function Steps({ current }: { current: number }) {
  return (
    <ol className="steps" aria-label="Steps">
      {STEPS.map((s, i) => (
        <li
          key={s}
          className={i < current ? 'done' : i === current ? 'current' : undefined}
          aria-current={i === current ? 'step' : undefined}
        >
          <span className="step-no">{i + 1}</span> {s}
        </li>
      ))}
    </ol>
  );
}

function SourcePicker({ sources }: { sources: SourceInfo[] }) {
  const [search, setSearch] = useState('');
  const [family, setFamily] = useState('');
  const admin = useCan('admin');
  const families = [...new Set(sources.map((s) => s.family))].sort();
  const q = search.trim().toLowerCase();
  const shown = sources
    .filter((s) => !family || s.family === family)
    .filter((s) => !q || `${s.title} ${s.id} ${s.description}`.toLowerCase().includes(q))
    .sort((a, b) => Number(b.available) - Number(a.available) || a.title.localeCompare(b.title));
  const locked = sources.some((s) => !s.available);
  return (
    <>
      <Steps current={0} />
      <h1>Choose a source</h1>
      {locked ? (
        <div className="alert alert-info">
          Sources marked <span className="badge early">Early access</span> can be installed once an admin
          enables early access
          {admin ? (
            <>
              {' '}
              in <Link to="/settings/early-access">Settings → Early access</Link>
            </>
          ) : null}
          .
        </div>
      ) : null}
      <search className="toolbar">
        <div className="field inline">
          <label htmlFor="source-search">Search</label>
          <input
            id="source-search"
            type="search"
            placeholder="Vendor or product"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="field inline">
          <label htmlFor="source-family">Family</label>
          <select id="source-family" value={family} onChange={(e) => setFamily(e.target.value)}>
            <option value="">All families</option>
            {families.map((f) => (
              <option key={f} value={f}>
                {familyTitle(f)}
              </option>
            ))}
          </select>
        </div>
      </search>
      {shown.length ? (
        <ul className="tiles">
          {shown.map((s) => (
            <li key={s.id}>
              <button
                type="button"
                className="tile"
                disabled={!s.available}
                aria-describedby={`tile-${s.id}-desc`}
                onClick={() => navigate(`/collectors/new/${encodeURIComponent(s.id)}`)}
              >
                <span className="tile-head">
                  <SourceMark id={s.id} title={s.title} />
                  <span>
                    <span className="tile-title">{s.title}</span>
                    <span className="tile-family">{familyTitle(s.family)}</span>
                  </span>
                  {s.stability !== 'ga' ? <span className="badge early">Early access</span> : null}
                </span>
                <span className="tile-desc" id={`tile-${s.id}-desc`}>
                  {s.description}
                  {!s.available ? (
                    <span className="tile-locked"> Not available until early access is enabled.</span>
                  ) : null}
                </span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <Empty>
          <p>No source matches “{search}”.</p>
        </Empty>
      )}
    </>
  );
}

function SourceSteps({ source }: { source: SourceInfo }) {
  const [step, setStep] = useState<'guide' | 'configure'>('guide');
  const [tested, setTested] = useState(false);
  if (step === 'guide')
    return (
      <>
        <Steps current={1} />
        <div className="title-with-mark">
          <SourceMark id={source.id} title={source.title} />
          <h1>{source.title}: before you start</h1>
        </div>
        <div className="card">
          <p>{source.description}</p>
          <h2>Prerequisites in {source.title}</h2>
          <RichText text={source.setupGuide} />
          {source.vendorWrites.length > 0 && (
            <>
              <h2>Changes it makes in {source.title}</h2>
              <p>Collectors only read, except for these calls, without which this source cannot work:</p>
              <ul className="vendor-writes">
                {source.vendorWrites.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </>
          )}
          <h2>Streams</h2>
          <ul>
            {source.streams.map((s) => (
              <li key={s.id}>
                <strong>{s.title}</strong> — {s.description}
              </li>
            ))}
          </ul>
        </div>
        <div className="actions">
          <Link to="/collectors/new" className="button">
            Back
          </Link>
          <button type="button" className="primary" onClick={() => setStep('configure')}>
            Continue
          </button>
        </div>
      </>
    );
  return (
    <>
      <Steps current={tested ? 3 : 2} />
      <div className="title-with-mark">
        <SourceMark id={source.id} title={source.title} />
        <h1>New {source.title} collector</h1>
      </div>
      <CollectorForm source={source} onBack={() => setStep('guide')} onTested={setTested} />
    </>
  );
}

/** Edit: the same form, filled from the collector's definition. */
export function EditCollector({ name }: { name: string }) {
  const state = useAsync(async () => {
    const [collector, sources] = await Promise.all([api.collector(name), api.sources()]);
    return { collector, source: sources.find((s) => s.id === collector.source) };
  }, [name]);
  return (
    <section>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/">Collectors</Link> / <Link to={`/collectors/${encodeURIComponent(name)}`}>{name}</Link> /{' '}
        <span aria-current="page">Edit</span>
      </nav>
      <Loaded state={state}>
        {({ collector, source }) =>
          source ? (
            <>
              <div className="title-with-mark">
                <SourceMark id={source.id} title={source.title} />
                <h1>Edit {name}</h1>
              </div>
              <CollectorForm
                source={source}
                existing={collector}
                onBack={() => navigate(`/collectors/${encodeURIComponent(name)}`)}
              />
            </>
          ) : (
            <ErrorMessage error={new Error(`Source ${collector.source} is not known to this server.`)} />
          )
        }
      </Loaded>
    </section>
  );
}

interface Refs {
  accounts: Account[];
  destinations: Destination[];
  sites: Site[];
  kinds: AccountKindInfo[];
}

/** The last Test connection: for which definition (`key`), and what it answered. */
interface TestState {
  key: string;
  result?: TestResult;
  error?: unknown;
}

function CollectorForm({
  source,
  existing,
  onBack,
  onTested,
}: {
  source: SourceInfo;
  existing?: CollectorDetail;
  onBack: () => void;
  onTested?: (ok: boolean) => void;
}) {
  const refs = useAsync<Refs>(async () => {
    const [accounts, destinations, sites, kinds] = await Promise.all([
      api.accounts(),
      api.destinations(),
      api.sites(),
      api.accountKinds(),
    ]);
    return { accounts, destinations, sites, kinds };
  }, []);
  const cfg = (existing?.config ?? {}) as Record<string, unknown>;
  const [name, setName] = useState(existing?.name ?? '');
  const [account, setAccount] = useState<string>((cfg.account as string) ?? '');
  const [settings, setSettings] = useState<Record<string, unknown>>(
    (cfg.settings as Record<string, unknown>) ?? {},
  );
  // The source's default streams are ticked unless the collector names its own: what it collects is in
  // sight. Saved as the defaults (no `streams`) while the ticks are exactly those.
  const defaults = source.streams.filter((s) => s.default).map((s) => s.id);
  const [streams, setStreams] = useState<string[]>(
    (cfg.streams as string[]) ?? (source.streams.length < 2 ? [] : defaults),
  );
  const sameAsDefaults = streams.length === defaults.length && defaults.every((d) => streams.includes(d));
  const [site, setSite] = useState<string>((cfg.site as string) ?? '');
  const [timezone, setTimezone] = useState<string>((cfg.timezone as string) ?? '');
  const [interval, setIntervalText] = useState<string>((cfg.interval as string) ?? '5m');
  const [lookback, setLookback] = useState<string>((cfg.lookback as string) ?? '1d');
  const [destinations, setDestinations] = useState<string[]>((cfg.destinations as string[]) ?? []);
  const [accountDialog, setAccountDialog] = useState<'new' | 'edit'>();
  /** The wizard's new account: created with the collector at Install, never on its own. */
  const [newAccount, setNewAccount] = useState<NewAccount>();
  const [test, setTest] = useState<TestState>();
  const [testing, setTesting] = useState(false);
  const [preview, setPreview] = useState<{ key: string; result?: PreviewResult; error?: unknown }>();
  const [previewing, setPreviewing] = useState(false);
  const [saving, setSaving] = useState(false);
  const [confirmInstall, setConfirmInstall] = useState(false);
  const [error, setError] = useState<unknown>();
  const settingsRef = useRef<SchemaFormRef>(null);

  // Push sources (webhooks) have no account and no schedule: the vendor sends to the collector's endpoint.
  const push = !source.account;
  const [issued, setIssued] = useState<{ name: string; token: string }>();
  const accepted = source.accounts?.length ? source.accounts : [source.account];
  const kinds = (refs.data?.kinds ?? []).filter((k) => accepted.includes(k.id));
  const kindTitle = (id: string) => refs.data?.kinds.find((k) => k.id === id)?.title ?? id;
  const usable = (refs.data?.accounts ?? []).filter((a) => accepted.includes(a.kind));
  // A single usable account is the obvious choice; a new one made here is chosen.
  const chosenAccount = newAccount?.name ?? (account || (usable.length === 1 ? usable[0]!.name : ''));
  const selectedAccount = usable.find((a) => a.name === chosenAccount);
  const accountLabel =
    accepted.length > 1 ? 'Account' : `${kindTitle(accepted[0] ?? source.account)} account`;

  const definition = useMemo(() => {
    const { site: _s, timezone: _t, streams: _st, ...rest } = cfg;
    const def: CollectorDefinition = {
      ...rest,
      source: source.id,
      account: chosenAccount || undefined,
      destinations,
      ...(push ? {} : { interval, lookback }),
      settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined && v !== '')),
    };
    if (site) def.site = site;
    if (timezone) def.timezone = timezone;
    if (streams.length && !sameAsDefaults) def.streams = streams;
    return def;
  }, [
    cfg,
    source.id,
    chosenAccount,
    destinations,
    push,
    interval,
    lookback,
    settings,
    site,
    timezone,
    streams,
    sameAsDefaults,
  ]);
  const probe = { ...definition, ...(name ? { name } : {}), ...(newAccount ? { newAccount } : {}) };
  const key = JSON.stringify(probe);
  const testOk = test?.key === key && test.result?.ok === true;
  const testFailed = Boolean(test && (test.error || test.result?.ok === false));
  const stale = test && test.key !== key;

  async function runTest() {
    if (settingsRef.current && !settingsRef.current.validateForm()) return;
    setTesting(true);
    setError(undefined);
    try {
      const result = await api.testCollector(probe);
      setTest({ key, result });
      onTested?.(result.ok);
    } catch (err) {
      setTest({ key, error: err });
      onTested?.(false);
    } finally {
      setTesting(false);
    }
  }

  async function runPreview() {
    if (settingsRef.current && !settingsRef.current.validateForm()) return;
    setPreviewing(true);
    try {
      setPreview({ key, result: await api.previewCollector(probe) });
    } catch (err) {
      setPreview({ key, error: err });
    } finally {
      setPreviewing(false);
    }
  }

  async function save() {
    setSaving(true);
    setError(undefined);
    try {
      const saved = existing
        ? await api.updateCollector(existing.name, definition)
        : await api.createCollector({ ...definition, name, ...(newAccount ? { newAccount } : {}) });
      if (saved.ingestToken) {
        setIssued({ name: saved.name, token: saved.ingestToken }); // shown this once: see below
        return;
      }
      navigate(`/collectors/${encodeURIComponent(existing?.name ?? name)}`);
    } catch (err) {
      setError(err);
      setSaving(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (settingsRef.current && !settingsRef.current.validateForm()) return;
    // Installing what just failed its test needs a second thought, said out loud.
    if (!existing && testFailed) {
      setConfirmInstall(true);
      return;
    }
    void save();
  }

  if (issued)
    return (
      <IngestToken name={issued.name} token={issued.token}>
        <div className="actions">
          <button
            type="button"
            className="primary"
            onClick={() => navigate(`/collectors/${encodeURIComponent(issued.name)}`)}
          >
            I have copied the token
          </button>
        </div>
      </IngestToken>
    );
  if (refs.loading && !refs.data) return <Loading />;
  if (refs.error && !refs.data) return <ErrorMessage error={refs.error} />;
  const issues = [
    ...(error instanceof ApiError ? error.issues : []),
    ...(test?.error instanceof ApiError ? test.error.issues : []),
    ...(preview?.error instanceof ApiError ? preview.error.issues : []),
  ];
  const { sites = [], destinations: dests = [] } = refs.data ?? {};
  const failure = test?.result && !test.result.ok ? test.result.error : undefined;

  return (
    <form className="collector-form" onSubmit={submit} aria-label="Collector definition">
      <fieldset className="card group">
        <legend>General</legend>
        <div className="row">
          <div className="field">
            <label htmlFor="c-name">Name</label>
            <input
              id="c-name"
              required
              disabled={Boolean(existing)}
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
              title="Letters, digits, '.', '_' or '-' (at most 63)"
              placeholder={`e.g. ${source.id}-prod`}
              value={name}
              onChange={(e) => setName(e.target.value)}
              autoComplete="off"
              aria-describedby="c-name-help"
            />
            <div className="help" id="c-name-help">
              Unique; letters, digits, “.”, “_” or “-”.
            </div>
          </div>
          {push ? null : (
            <div className="field">
              <label htmlFor="c-account">{accountLabel}</label>
              <div className="with-buttons">
                <select
                  id="c-account"
                  required
                  value={chosenAccount}
                  onChange={(e) => {
                    // Choosing another account drops the new one (it was never saved).
                    if (e.target.value !== newAccount?.name) setNewAccount(undefined);
                    setAccount(e.target.value);
                  }}
                >
                  <option value="">
                    {usable.length || newAccount ? 'Choose an account' : 'No account yet'}
                  </option>
                  {newAccount ? (
                    <option value={newAccount.name}>
                      {newAccount.name} ({kindTitle(newAccount.kind)}, new: created at install)
                    </option>
                  ) : null}
                  {usable.map((a) => (
                    <option key={a.name} value={a.name}>
                      {accepted.length > 1 ? `${a.name} (${kindTitle(a.kind)})` : a.name}
                    </option>
                  ))}
                </select>
                <button type="button" onClick={() => setAccountDialog('new')}>
                  New account
                </button>
                {selectedAccount || newAccount ? (
                  <button type="button" onClick={() => setAccountDialog('edit')}>
                    Edit account
                  </button>
                ) : null}
              </div>
              <div className="help">
                {accepted.length > 1 ? `Any of: ${accepted.map(kindTitle).join(', ')}. ` : ''}
                Accounts are shared: several collectors may use one.
              </div>
            </div>
          )}
        </div>
      </fieldset>

      <fieldset className="card group">
        <legend>{source.title} settings</legend>
        <SchemaForm
          formRef={settingsRef}
          schema={source.settings}
          value={settings}
          onChange={setSettings}
          idPrefix="settings"
          issues={issues}
          issuePrefix="settings"
        />
      </fieldset>

      <fieldset className="card group">
        <legend>Collection</legend>
        {source.streams.length > 1 ? (
          <fieldset className="checks">
            <legend>Streams</legend>
            <p className="help">
              What this collector collects. None ticked: the source's defaults (
              {source.streams
                .filter((s) => s.default)
                .map((s) => s.title)
                .join(', ')}
              ).
            </p>
            {source.streams.map((s) => (
              <label key={s.id} className="check">
                <input
                  type="checkbox"
                  checked={streams.includes(s.id)}
                  onChange={(e) =>
                    setStreams(e.target.checked ? [...streams, s.id] : streams.filter((x) => x !== s.id))
                  }
                />
                {s.title} <span className="muted small">{s.description}</span>
              </label>
            ))}
          </fieldset>
        ) : source.streams[0] ? (
          <p>
            Stream: <strong>{source.streams[0].title}</strong>{' '}
            <span className="muted">{source.streams[0].description}</span>
          </p>
        ) : null}
        {push ? (
          <p className="help">
            {source.title} sends events to this collector's endpoint as they happen: there is no schedule. The
            endpoint and its token are shown once, when you install.
          </p>
        ) : (
          <div className="row">
            <div className="field">
              <label htmlFor="c-interval">Interval</label>
              <input
                id="c-interval"
                list="interval-presets"
                required
                value={interval}
                onChange={(e) => setIntervalText(e.target.value)}
                aria-describedby="c-interval-help"
              />
              <datalist id="interval-presets">
                {['1m', '5m', '15m', '30m', '1h', '6h', '1d'].map((v) => (
                  <option key={v} value={v} />
                ))}
              </datalist>
              <div className="help" id="c-interval-help">
                How often it runs, at least 10s, e.g. 30s, 5m, 1h.
              </div>
            </div>
            <div className="field">
              <label htmlFor="c-lookback">Lookback</label>
              <input
                id="c-lookback"
                required
                value={lookback}
                onChange={(e) => setLookback(e.target.value)}
                aria-describedby="c-lookback-help"
              />
              <div className="help" id="c-lookback-help">
                How far back the first run starts, e.g. 1d or 7d.
              </div>
            </div>
          </div>
        )}
      </fieldset>

      <fieldset className="card group">
        <legend>Enrichment and delivery</legend>
        <div className="row">
          <div className="field">
            <label htmlFor="c-site">Site (optional)</label>
            <select
              id="c-site"
              value={site}
              onChange={(e) => setSite(e.target.value)}
              aria-describedby="c-site-help"
            >
              <option value="">No site</option>
              {sites.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
            <div className="help" id="c-site-help">
              Added to every event as <code>sitename</code>. <Link to="/settings/sites">Manage sites</Link>
            </div>
          </div>
          <div className="field">
            <label htmlFor="c-timezone">Time zone (optional)</label>
            <TimeZonePicker
              id="c-timezone"
              value={timezone}
              onChange={setTimezone}
              describedBy="c-timezone-help"
            />
            <div className="help" id="c-timezone-help">
              Added to every event as <code>timezone</code> (an IANA name such as Europe/Berlin).
            </div>
          </div>
        </div>
        <fieldset className="checks">
          <legend>Destinations</legend>
          {dests.length ? (
            dests.map((d) => (
              <label key={d.name} className="check">
                <input
                  type="checkbox"
                  name="destinations"
                  value={d.name}
                  checked={destinations.includes(d.name)}
                  onChange={(e) =>
                    setDestinations(
                      e.target.checked ? [...destinations, d.name] : destinations.filter((x) => x !== d.name),
                    )
                  }
                />
                {d.name} <span className="muted small">{d.kind}</span>
              </label>
            ))
          ) : (
            <p>
              No destination yet.{' '}
              <Link to="/settings/destinations">Create one in Settings → Destinations</Link>.
            </p>
          )}
        </fieldset>
      </fieldset>

      <div className="card test-panel" aria-live="polite">
        <h2>Test connection</h2>
        {!test ? (
          <p className="muted">
            Checks that Tributary reaches {source.title} with this account and settings before you install.
          </p>
        ) : test.error ? (
          <ErrorMessage error={test.error} title="Cannot test" />
        ) : test.result?.ok ? (
          <div className="alert alert-ok" role="status">
            {push
              ? `Definition OK: ${source.title} sends to this collector; there is nothing for Tributary to reach.`
              : `Connection OK: Tributary reached ${source.title} with account ${chosenAccount}.`}
          </div>
        ) : failure ? (
          <TestFailure error={failure} />
        ) : null}
        {stale ? <p className="muted small">The form changed since this test.</p> : null}
      </div>

      {source.preview ? (
        <PreviewPanel
          preview={preview}
          stale={Boolean(preview && preview.key !== key)}
          busy={previewing}
          disabled={!chosenAccount}
          onPreview={runPreview}
        />
      ) : null}

      <ErrorMessage error={error} title={existing ? 'Cannot save' : 'Cannot install'} />
      <div className="actions sticky">
        <button type="button" onClick={onBack}>
          {existing ? 'Cancel' : 'Back'}
        </button>
        <span className="spacer" />
        <button
          type="button"
          className={!testOk && !existing ? 'primary' : undefined}
          onClick={runTest}
          disabled={testing || (!push && !chosenAccount)}
        >
          {testing ? 'Testing…' : 'Test connection'}
        </button>
        <button type="submit" className={testOk || existing ? 'primary' : undefined} disabled={saving}>
          {saving ? 'Saving…' : existing ? 'Save changes' : 'Install'}
        </button>
      </div>

      {confirmInstall ? (
        <Confirm
          title="Install although the test failed?"
          confirm="Install anyway"
          danger
          onClose={() => setConfirmInstall(false)}
          onConfirm={save}
        >
          {failure ? (
            <TestFailure error={failure} />
          ) : (
            <ErrorMessage error={test?.error} title="The test could not run" />
          )}
          <p>
            {stale
              ? 'The form changed since then, but it was not tested again. '
              : 'Installed like this, its runs will most likely fail the same way. '}
            Fix it and test again, or install anyway (for example when {source.title} is not reachable from
            here yet).
          </p>
        </Confirm>
      ) : null}

      {accountDialog ? (
        <Modal
          title={
            accountDialog === 'new'
              ? `New ${accepted.length > 1 ? '' : `${kindTitle(accepted[0]!)} `}account`
              : `Edit account ${chosenAccount}`
          }
          onClose={() => setAccountDialog(undefined)}
          wide
        >
          <AccountForm
            kinds={kinds}
            fixedKind={kinds.length === 1 ? kinds[0]!.id : undefined}
            account={accountDialog === 'edit' ? selectedAccount : undefined}
            draft={accountDialog === 'edit' ? newAccount : undefined}
            suggestedOrigins={urlOrigins(settings)}
            idPrefix="inline-account"
            onCancel={() => setAccountDialog(undefined)}
            // The wizard creates a new account with the collector (one request at Install); editing an
            // existing collector, or an existing account, saves it now.
            onDraft={
              existing || (accountDialog === 'edit' && !newAccount)
                ? undefined
                : (a) => {
                    setAccountDialog(undefined);
                    setNewAccount(a);
                  }
            }
            onSaved={async (a) => {
              setAccountDialog(undefined);
              await refs.reload();
              setNewAccount(undefined);
              setAccount(a.name);
            }}
          />
        </Modal>
      ) : null}
    </form>
  );
}

function TestFailure({ error }: { error: ErrorInfo }) {
  return (
    <div className="alert alert-error" role="alert">
      <div>
        <strong>Connection failed</strong> <span className={`badge err-${error.type}`}>{error.type}</span>{' '}
        <code>{error.code}</code>
      </div>
      <div>{error.message}</div>
      <div className="action">
        <strong>Recommended action:</strong> {error.action}
      </div>
    </div>
  );
}

/**
 * Preview one page (sources that describe their requests, such as the generic REST API): the request
 * sent, and the records, times and ids the settings extract from the answer, before anything is
 * installed. Nothing is stored or delivered.
 */
function PreviewPanel({
  preview,
  stale,
  busy,
  disabled,
  onPreview,
}: {
  preview?: { result?: PreviewResult; error?: unknown };
  stale: boolean;
  busy: boolean;
  disabled: boolean;
  onPreview: () => void;
}) {
  const r = preview?.result;
  return (
    <section className="card preview-panel" aria-label="Preview" aria-live="polite">
      <div className="page-head">
        <h2>Preview one page</h2>
        <button type="button" onClick={onPreview} disabled={busy || disabled}>
          {busy ? 'Reading…' : 'Preview one page'}
        </button>
      </div>
      {!preview ? (
        <p className="muted">
          Reads one page of the first window with these settings and shows what they extract: each record's
          time and id, and what would go wrong. Nothing is installed, saved or delivered.
        </p>
      ) : preview.error ? (
        <ErrorMessage error={preview.error} title="Cannot preview" />
      ) : r && !r.ok ? (
        <TestFailure error={r.error} />
      ) : r?.ok ? (
        <>
          <dl className="facts preview-facts">
            <div>
              <dt>Request</dt>
              <dd>
                {r.request ? (
                  <code data-testid="preview-request">
                    {r.request.method} {r.request.url}
                  </code>
                ) : (
                  '—'
                )}
                {r.request?.body ? <pre className="raw">{r.request.body}</pre> : null}
              </dd>
            </div>
            <div>
              <dt>Window</dt>
              <dd>
                {r.window ? (
                  <>
                    <Time iso={r.window.start} /> – <Time iso={r.window.end} />
                  </>
                ) : (
                  '—'
                )}
              </dd>
            </div>
            <div>
              <dt>Records on this page</dt>
              <dd data-testid="preview-records">{r.records}</dd>
            </div>
            <div>
              <dt>Next page</dt>
              <dd>{r.next ? <code className="clip">{r.next.url}</code> : 'none: this is the last page'}</dd>
            </div>
          </dl>
          {r.warnings.length ? (
            <div className="alert alert-warn" role="status" data-testid="preview-warnings">
              <strong>Warnings</strong>
              <ul>
                {r.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </div>
          ) : (
            <p className="test-ok small">No warnings: times and ids were found in every record.</p>
          )}
          {r.events.length ? (
            <div className="table-wrap">
              <table className="table" data-testid="preview-events">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Id</th>
                    <th scope="col">Record</th>
                  </tr>
                </thead>
                <tbody>
                  {r.events.slice(0, 50).map((e) => (
                    <tr key={e.id}>
                      <td className="nowrap">
                        <Time iso={e.time} />
                      </td>
                      <td>
                        <code className="clip">{e.id}</code>
                      </td>
                      <td>
                        <details>
                          <summary>
                            <code className="clip">{JSON.stringify(e.raw)}</code>
                          </summary>
                          <pre className="raw">{JSON.stringify(e.raw, null, 2)}</pre>
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {r.events.length > 50 ? (
                <p className="muted small">The first 50 of {r.events.length}.</p>
              ) : null}
            </div>
          ) : null}
        </>
      ) : null}
      {stale ? <p className="muted small">The form changed since this preview.</p> : null}
    </section>
  );
}

/** The origins of the URLs a collector's settings name (base URL, a REST API endpoint). */
function urlOrigins(settings: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const v of [settings.baseUrl, settings.url]) {
    if (typeof v !== 'string') continue;
    try {
      out.add(new URL(v).origin);
    } catch {
      /* not a URL yet */
    }
  }
  return [...out];
}
