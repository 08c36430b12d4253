import type { RJSFSchema } from '@rjsf/utils';
import { type FormEvent, useMemo, useRef, useState } from 'react';
import { type Account, ApiError, api, type Destination, type DestinationKindInfo } from '../api.ts';
import { ErrorMessage, Loaded, useAsync } from '../components.tsx';
import { cleanFormData, SchemaForm, type SchemaFormRef } from '../schema-form.tsx';

/**
 * A destination of any kind `GET /api/destination-kinds` lists: pick the kind, then its settings as a
 * form generated from the kind's schema. Secrets are write-only: on edit an empty one keeps the stored
 * value. A kind that sends with an account's token offers the accounts of the kinds it accepts.
 */
export function DestinationForm({
  existing,
  onSaved,
  onCancel,
}: {
  existing?: Destination;
  onSaved: (d: Destination) => void;
  onCancel: () => void;
}) {
  const refs = useAsync(
    async () => ({
      kinds: await api.destinationKinds(),
      accounts: await api.accounts().catch((): Account[] => []),
    }),
    [],
  );
  return (
    <Loaded state={refs}>
      {({ kinds, accounts }) => (
        <KindForm
          kinds={kinds}
          accounts={accounts}
          existing={existing}
          onSaved={onSaved}
          onCancel={onCancel}
        />
      )}
    </Loaded>
  );
}

/** `config` without the values at `paths` (dotted): the secrets a form never shows back. */
function withoutPaths(config: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const p of paths) {
    const parts = p.split('.');
    let node: Record<string, unknown> | undefined = copy;
    for (const k of parts.slice(0, -1)) node = node?.[k] as Record<string, unknown> | undefined;
    if (node && typeof node === 'object') delete node[parts.at(-1)!];
  }
  return copy;
}

function valueAt(config: Record<string, unknown>, path: string): unknown {
  let node: unknown = config;
  for (const k of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[k];
  return node;
}

function KindForm({
  kinds,
  accounts,
  existing,
  onSaved,
  onCancel,
}: {
  kinds: DestinationKindInfo[];
  accounts: Account[];
  existing?: Destination;
  onSaved: (d: Destination) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(existing?.name ?? '');
  const [kindId, setKindId] = useState(
    existing?.kind ?? kinds.find((k) => k.kind === 'file')?.kind ?? kinds[0]?.kind ?? '',
  );
  const kind = kinds.find((k) => k.kind === kindId);
  const sameKind = Boolean(existing && existing.kind === kindId);
  const [values, setValues] = useState<Record<string, unknown>>(() => {
    if (!existing) return {};
    const secrets = kinds.find((k) => k.kind === existing.kind)?.secrets ?? [];
    const { kind: _, ...rest } = withoutPaths(existing.config, secrets);
    return rest;
  });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const formRef = useRef<SchemaFormRef>(null);

  // The stored secrets, masked, for "leave empty to keep" (only while the kind is unchanged).
  const kept = useMemo(() => {
    if (!existing || !sameKind || !kind) return undefined;
    const out: Record<string, unknown> = {};
    for (const p of kind.secrets) {
      const v = valueAt(existing.config, p);
      if (typeof v === 'string') out[p] = v;
    }
    return out;
  }, [existing, sameKind, kind]);

  // The kind's settings without `kind` (the picker sets it); an account setting lists the accounts it may use.
  const schema = useMemo(() => {
    if (!kind) return undefined;
    const s = structuredClone(kind.settings) as RJSFSchema;
    delete s.description; // the kind's description shows above the form
    const props = { ...(s.properties as Record<string, RJSFSchema>) };
    delete props.kind;
    if (kind.accountKinds.length && props.account) {
      const names = accounts.filter((a) => kind.accountKinds.includes(a.kind)).map((a) => a.name);
      if (names.length) props.account = { ...props.account, enum: names };
    }
    s.properties = props;
    if (Array.isArray(s.required)) s.required = s.required.filter((r) => r !== 'kind');
    return s;
  }, [kind, accounts]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (formRef.current && !formRef.current.validateForm()) return;
    setBusy(true);
    setError(undefined);
    const config = { ...(cleanFormData(values) as Record<string, unknown>), kind: kindId };
    try {
      const saved = existing
        ? await api.updateDestination(existing.name, config)
        : await api.createDestination({ name, config });
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const issues = error instanceof ApiError ? error.issues : [];
  const needsAccount = kind?.accountKinds.length
    ? !accounts.some((a) => kind.accountKinds.includes(a.kind))
    : false;
  return (
    <form className="stack" onSubmit={submit} aria-label={existing ? 'Edit destination' : 'New destination'}>
      <div className="row">
        <div className="field">
          <label htmlFor="dest-name">Name</label>
          <input
            id="dest-name"
            required
            disabled={Boolean(existing)}
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}"
            title="Letters, digits, '.', '_' or '-' (at most 63)"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor="dest-kind">Kind</label>
          <select
            id="dest-kind"
            value={kindId}
            onChange={(e) => {
              setKindId(e.target.value);
              setValues({});
            }}
          >
            {kinds.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.title}
                {k.stability === 'early-access' ? ' (early access)' : ''}
              </option>
            ))}
          </select>
        </div>
      </div>
      {kind ? (
        <p className="muted small" data-testid="kind-description">
          {kind.stability === 'early-access' ? <span className="badge early">Early access</span> : null}{' '}
          {kind.description}
        </p>
      ) : null}
      {needsAccount ? (
        <div className="alert small" role="note">
          This kind sends with the token of a {kind!.accountKinds.join(' or ')} account: create one under
          Accounts first, allowing this destination's endpoint among its origins.
        </div>
      ) : null}
      {kind && schema ? (
        <fieldset className="group">
          <legend>{kind.title} settings</legend>
          <SchemaForm
            key={kindId}
            formRef={formRef}
            schema={schema}
            value={values}
            onChange={setValues}
            idPrefix="dest"
            secrets={kind.secrets}
            keepSecrets={kept}
            issues={issues}
            issuePrefix="config"
          />
        </fieldset>
      ) : null}
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : existing ? 'Save destination' : 'Create destination'}
        </button>
      </div>
    </form>
  );
}
