import { useState } from 'react';
import { api } from '../../api.ts';
import { ErrorMessage, Loaded, useAsync } from '../../components.tsx';
import { useCan } from '../../session.ts';

/** Settings → Early access: early-access sources, and the egress allow-list. */

export function EarlyAccess() {
  const state = useAsync(() => api.settings(), []);
  const admin = useCan('admin');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <div className="card">
      <h2>Early access</h2>
      <p className="muted">
        Early-access sources are new: their settings and event shapes may still change. Enabling early access
        lets editors install them.
      </p>
      <Loaded state={state}>
        {(s) => (
          <>
            <label className="check big">
              <input
                type="checkbox"
                checked={s.earlyAccess}
                disabled={!admin || busy}
                onChange={async (e) => {
                  setBusy(true);
                  setError(undefined);
                  try {
                    await api.updateSettings({ earlyAccess: e.target.checked });
                    await state.reload();
                  } catch (err) {
                    setError(err);
                  } finally {
                    setBusy(false);
                  }
                }}
              />
              Offer early-access sources
            </label>
            {!admin ? <p className="help">Only an admin can change this.</p> : null}
            <EgressAllowList
              initial={s.egressAllowList}
              disabled={!admin || busy}
              save={async (list) => {
                setBusy(true);
                setError(undefined);
                try {
                  await api.updateSettings({ egressAllowList: list });
                  await state.reload();
                } catch (err) {
                  setError(err);
                } finally {
                  setBusy(false);
                }
              }}
            />
          </>
        )}
      </Loaded>
      <ErrorMessage error={error} />
    </div>
  );
}

/**
 * Link-local and cloud metadata addresses are refused to collectors and destinations (they hand out the
 * host's own cloud credentials); an admin may allow specific ones, e.g. an on-premises service there.
 */
function EgressAllowList({
  initial,
  disabled,
  save,
}: {
  initial: string[];
  disabled: boolean;
  save: (list: string[]) => Promise<void>;
}) {
  const [text, setText] = useState(initial.join('\n'));
  return (
    <div className="field">
      <h3>Network: link-local and metadata addresses</h3>
      <label htmlFor="egress-allow">Allowed anyway (addresses or CIDR ranges, one per line)</label>
      <textarea
        id="egress-allow"
        rows={3}
        value={text}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        placeholder="169.254.10.0/24"
      />
      <div className="help">
        Collectors and destinations never connect to 169.254.0.0/16, fe80::/10 or cloud metadata endpoints
        unless they are listed here. Private ranges are allowed and noted in the audit log.
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={disabled}
          onClick={() =>
            save(
              text
                .split(/[\s,]+/)
                .map((v) => v.trim())
                .filter(Boolean),
            )
          }
        >
          Save allow-list
        </button>
      </div>
    </div>
  );
}
