import { useState } from 'react';
import { type Account, api, type TestResult } from '../api.ts';
import { Confirm, Empty, ErrorMessage, Loaded, Modal, Notice, Time, useAsync } from '../components.tsx';
import { Link } from '../router.tsx';
import { useCan } from '../session.ts';
import { AccountForm } from './account-form.tsx';

/** Accounts: shared credentials with their kind, the collectors using them and their expiry. */
export function AccountsPage() {
  const state = useAsync(async () => {
    const [accounts, kinds] = await Promise.all([api.accounts(), api.accountKinds()]);
    return { accounts, kinds };
  }, []);
  const editor = useCan('editor');
  const [dialog, setDialog] = useState<{ kind: 'new' } | { kind: 'edit' | 'delete'; account: Account }>();
  const [tests, setTests] = useState<
    Record<string, { busy?: boolean; result?: TestResult; error?: unknown }>
  >({});
  const [notice, setNotice] = useState<string>();

  async function test(name: string) {
    setTests((t) => ({ ...t, [name]: { busy: true } }));
    try {
      const result = await api.testAccount(name);
      setTests((t) => ({ ...t, [name]: { result } }));
    } catch (error) {
      setTests((t) => ({ ...t, [name]: { error } }));
    }
  }

  return (
    <section>
      <div className="page-head">
        <h1>Accounts</h1>
        {editor ? (
          <button type="button" className="primary" onClick={() => setDialog({ kind: 'new' })}>
            New account
          </button>
        ) : null}
      </div>
      <p className="muted">
        An account holds a vendor credential that any number of collectors share. Secrets are write-only: they
        are stored encrypted and never shown again.
      </p>
      {notice ? <Notice onDone={() => setNotice(undefined)}>{notice}</Notice> : null}
      <Loaded state={state}>
        {({ accounts, kinds }) => (
          <>
            {accounts.length ? (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Used by</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Updated</th>
                      {editor ? (
                        <th scope="col">
                          <span className="sr-only">Actions</span>
                        </th>
                      ) : null}
                    </tr>
                  </thead>
                  <tbody>
                    {accounts
                      .sort((a, b) => a.name.localeCompare(b.name))
                      .map((a) => {
                        const t = tests[a.name];
                        return (
                          <tr key={a.name} data-account={a.name}>
                            <td>
                              <strong>{a.name}</strong>
                              {t && !t.busy ? <TestOutcome {...t} /> : null}
                            </td>
                            <td>{kinds.find((k) => k.id === a.kind)?.title ?? a.kind}</td>
                            <td>
                              {a.usedBy.length ? (
                                a.usedBy.map((c, i) => (
                                  <span key={c}>
                                    {i ? ', ' : ''}
                                    <Link to={`/collectors/${encodeURIComponent(c)}`}>{c}</Link>
                                  </span>
                                ))
                              ) : (
                                <span className="muted">no collector</span>
                              )}
                            </td>
                            <td>
                              <Time iso={a.expiresAt} />
                              {a.expiryWarning ? (
                                <span className="badge health-warning">expires soon</span>
                              ) : null}
                            </td>
                            <td>
                              <Time iso={a.updatedAt} />
                            </td>
                            {editor ? (
                              <td className="right nowrap">
                                <button
                                  type="button"
                                  className="small"
                                  disabled={t?.busy}
                                  onClick={() => test(a.name)}
                                >
                                  {t?.busy ? 'Testing…' : 'Test'}
                                  <span className="sr-only"> {a.name}</span>
                                </button>{' '}
                                <button
                                  type="button"
                                  className="small"
                                  onClick={() => setDialog({ kind: 'edit', account: a })}
                                >
                                  Edit<span className="sr-only"> {a.name}</span>
                                </button>{' '}
                                <button
                                  type="button"
                                  className="small danger"
                                  onClick={() => setDialog({ kind: 'delete', account: a })}
                                >
                                  Delete<span className="sr-only"> {a.name}</span>
                                </button>
                              </td>
                            ) : null}
                          </tr>
                        );
                      })}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty>
                <p>No accounts yet.</p>
                {editor ? (
                  <button type="button" className="primary" onClick={() => setDialog({ kind: 'new' })}>
                    New account
                  </button>
                ) : null}
              </Empty>
            )}
            {dialog?.kind === 'new' || dialog?.kind === 'edit' ? (
              <Modal
                title={dialog.kind === 'new' ? 'New account' : `Edit account ${dialog.account.name}`}
                onClose={() => setDialog(undefined)}
                wide
              >
                <AccountForm
                  kinds={kinds}
                  account={dialog.kind === 'edit' ? dialog.account : undefined}
                  onCancel={() => setDialog(undefined)}
                  onSaved={async (a) => {
                    setDialog(undefined);
                    setNotice(`Account ${a.name} saved.`);
                    setTests((t) => ({ ...t, [a.name]: {} }));
                    await state.reload();
                  }}
                />
              </Modal>
            ) : null}
            {dialog?.kind === 'delete' ? (
              <Confirm
                title={`Delete account ${dialog.account.name}?`}
                confirm="Delete account"
                danger
                onClose={() => setDialog(undefined)}
                onConfirm={async () => {
                  await api.deleteAccount(dialog.account.name);
                  setNotice(`Account ${dialog.account.name} deleted.`);
                  await state.reload();
                }}
              >
                <p>
                  The credential is deleted. An account still used by a collector cannot be deleted: change or
                  delete those collectors first.
                </p>
              </Confirm>
            ) : null}
          </>
        )}
      </Loaded>
    </section>
  );
}

function TestOutcome({ result, error }: { result?: TestResult; error?: unknown }) {
  if (error) return <ErrorMessage error={error} title="Test failed" />;
  if (!result) return null;
  if (result.ok)
    return (
      <div className="test-ok small" role="status">
        Connection OK
      </div>
    );
  return (
    <div className="alert alert-error small" role="alert">
      <code>{result.error.code}</code> {result.error.message}
      <div className="action">
        <strong>Recommended action:</strong> {result.error.action}
      </div>
    </div>
  );
}
