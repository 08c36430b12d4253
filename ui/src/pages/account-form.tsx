import { type FormEvent, useMemo, useRef, useState } from 'react';
import { type Account, type AccountCreate, type AccountKindInfo, ApiError, api } from '../api.ts';
import { ErrorMessage } from '../components.tsx';
import { SchemaForm, type SchemaFormRef } from '../schema-form.tsx';

/**
 * Create or edit an account: its kind's fields as a generated form (secrets as password inputs,
 * write-only: on edit an empty secret keeps the stored one), an optional expiry and request budget.
 * Used by the Accounts page and inline by the New Collector wizard, where a new account is not saved
 * on its own (`onDraft`): it is created with the collector, in the same request, at Install.
 */
export function AccountForm({
  kinds,
  fixedKind,
  account,
  draft,
  onSaved,
  onDraft,
  onCancel,
  idPrefix = 'account',
  suggestedOrigins = [],
}: {
  kinds: AccountKindInfo[];
  fixedKind?: string;
  account?: Account;
  /** A new account not created yet (the wizard's), to change before it is. */
  draft?: AccountCreate;
  /** Origins a new account should allow (the wizard's base URL or endpoint): the user sees and may edit them. */
  suggestedOrigins?: string[];
  onSaved?: (a: Account) => void;
  /** Instead of creating the account: hands it back, validated, to be created later. */
  onDraft?: (a: AccountCreate) => void;
  onCancel: () => void;
  idPrefix?: string;
}) {
  const editing = Boolean(account);
  const [name, setName] = useState(account?.name ?? draft?.name ?? '');
  const [kindId, setKindId] = useState(account?.kind ?? draft?.kind ?? fixedKind ?? kinds[0]?.id ?? '');
  const kind = kinds.find((k) => k.id === kindId);
  const secrets = kind?.secrets ?? [];
  const kept = useMemo(() => {
    if (!account) return undefined;
    const out: Record<string, unknown> = {};
    for (const s of account.secretFields) out[s] = account.fields[s] ?? '••••';
    return out;
  }, [account]);
  const [fields, setFields] = useState<Record<string, unknown>>(() => {
    if (!account) return { ...draft?.fields };
    const f = { ...account.fields };
    for (const s of account.secretFields) delete f[s];
    return f;
  });
  const expiresAt = account?.expiresAt ?? draft?.expiresAt;
  const [expires, setExpires] = useState(expiresAt ? toLocalInput(expiresAt) : '');
  const budget = account?.requestsPerMinute ?? draft?.requestsPerMinute;
  const [rpm, setRpm] = useState(budget ? String(budget) : '');
  const [origins, setOrigins] = useState((account?.origins ?? draft?.origins ?? suggestedOrigins).join('\n'));
  const originList = origins
    .split(/[\s,]+/)
    .map((o) => o.trim())
    .filter(Boolean);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const formRef = useRef<SchemaFormRef>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    e.stopPropagation(); // inside the wizard's form: only this one submits
    if (formRef.current && !formRef.current.validateForm()) return;
    setBusy(true);
    setError(undefined);
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== ''));
    // A wizard's new account left with the suggested origins gets those of the collector's URLs when it
    // is installed (the server's default), so a URL changed after this dialog still counts.
    const suggestedOnly =
      Boolean(onDraft) && !draft?.origins && originList.join('\n') === suggestedOrigins.join('\n');
    const create: AccountCreate = {
      name,
      kind: kindId,
      fields: clean,
      ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
      ...(rpm ? { requestsPerMinute: Number(rpm) } : {}),
      ...(originList.length && !suggestedOnly ? { origins: originList } : {}),
    };
    if (onDraft && !account) {
      onDraft(create);
      return;
    }
    try {
      const saved = account
        ? await api.updateAccount(account.name, {
            fields: clean,
            expiresAt: expires ? new Date(expires).toISOString() : null,
            requestsPerMinute: rpm ? Number(rpm) : null,
            origins: originList,
          })
        : await api.createAccount(create);
      onSaved?.(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <form className="stack" onSubmit={submit} aria-label={editing ? 'Edit account' : 'New account'}>
      {onDraft && !editing ? (
        <p className="help">
          Created with the collector when you install it, in the same step: if you leave the wizard, nothing
          is saved. Test connection uses it already.
        </p>
      ) : null}
      {!editing ? (
        <div className="row">
          <div className="field">
            <label htmlFor={`${idPrefix}-name`}>Name</label>
            <input
              id={`${idPrefix}-name`}
              required
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
              title="Letters, digits, '.', '_' or '-' (at most 63)"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="e.g. okta-main"
              autoComplete="off"
            />
          </div>
          <div className="field">
            <label htmlFor={`${idPrefix}-kind`}>Kind</label>
            <select
              id={`${idPrefix}-kind`}
              value={kindId}
              disabled={Boolean(fixedKind) || kinds.length < 2}
              onChange={(e) => {
                setKindId(e.target.value);
                setFields({});
              }}
            >
              {kinds.map((k) => (
                <option key={k.id} value={k.id}>
                  {k.title}
                </option>
              ))}
            </select>
          </div>
        </div>
      ) : (
        <p className="muted">
          {kind?.title ?? account?.kind} account <strong>{account?.name}</strong>
        </p>
      )}
      {kind ? (
        <fieldset className="group">
          <legend>{kind.title} credentials</legend>
          <SchemaForm
            key={kindId}
            formRef={formRef}
            schema={kind.fields}
            value={fields}
            onChange={setFields}
            idPrefix={`${idPrefix}-fields`}
            secrets={secrets}
            keepSecrets={kept}
            issues={issues}
            issuePrefix="fields"
          />
        </fieldset>
      ) : null}
      <div className="row">
        <div className="field">
          <label htmlFor={`${idPrefix}-expires`}>Credential expires (optional)</label>
          <input
            id={`${idPrefix}-expires`}
            type="datetime-local"
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
            aria-describedby={`${idPrefix}-expires-help`}
          />
          <div className="help" id={`${idPrefix}-expires-help`}>
            Health warns 14 days before.
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-rpm`}>Requests per minute (optional)</label>
          <input
            id={`${idPrefix}-rpm`}
            type="number"
            min={1}
            max={1000000}
            value={rpm}
            onChange={(e) => setRpm(e.target.value)}
            aria-describedby={`${idPrefix}-rpm-help`}
          />
          <div className="help" id={`${idPrefix}-rpm-help`}>
            Overrides the vendor's default request budget.
          </div>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-origins`}>Also send the credentials to (optional)</label>
        <textarea
          id={`${idPrefix}-origins`}
          rows={2}
          value={origins}
          onChange={(e) => setOrigins(e.target.value)}
          placeholder="https://proxy.example.com:8443"
          aria-describedby={`${idPrefix}-origins-help`}
        />
        <div className="help" id={`${idPrefix}-origins-help`}>
          The credentials go only to the vendor's own hosts
          {account?.credentialOrigins.length ? ` (now: ${account.credentialOrigins.join(', ')})` : ''} and to
          the origins listed here, one per line: a proxy, a regional endpoint. Changing them, or a URL above,
          needs the secret entered again.
        </div>
      </div>
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy
            ? 'Saving…'
            : editing
              ? 'Save account'
              : onDraft
                ? draft
                  ? 'Keep changes'
                  : 'Use this account'
                : 'Create account'}
        </button>
      </div>
    </form>
  );
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
