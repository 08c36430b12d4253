import { useState } from 'react';
import { api, type Destination, type DestinationTestResult } from '../../api.ts';
import { Confirm, Empty, ErrorMessage, Loaded, Modal, Notice, useAsync } from '../../components.tsx';
import { ago, bytes } from '../../format.ts';
import { useCan } from '../../session.ts';
import { DestinationForm } from '../destination-form.tsx';

/** Where a destination sends events, as far as its settings say. */
function describe(d: Destination): string {
  const c = d.config as Record<string, unknown>;
  const where = c.path ?? c.url ?? c.endpoint;
  if (typeof where === 'string') return where;
  if (d.kind === 'stdout') return 'standard output';
  if (typeof c.region === 'string') return `${d.kind} region ${c.region}`;
  return d.kind;
}

/** A destination's buffer: off, empty, or what it holds and why (docs/destinations.md, "Buffering"). */
function BufferCell({ d }: { d: Destination }) {
  if (!d.config.buffer) return <span className="muted">off</span>;
  const b = d.buffer;
  if (!b) return <span className="muted">on, not started</span>;
  const use = `${bytes(b.bytes)} of ${bytes(b.maxBytes)}`;
  if (!b.batches) return <span className="muted">empty ({bytes(b.maxBytes)} cap)</span>;
  return (
    <div>
      <span className={b.full ? 'badge health-error' : 'badge health-warning'}>
        {b.full ? 'full: collectors wait' : 'holding'}
      </span>{' '}
      {b.events} events in {b.batches} batches, {use}
      {b.oldestAt ? <div className="small muted">oldest {ago(b.oldestAt)}</div> : null}
      {b.lastError ? (
        <div className="small">
          <code>{b.lastError.code}</code> {b.lastError.message}
        </div>
      ) : null}
    </div>
  );
}

/** Settings → Destinations: the list, Test, and the generated form to create or edit one. */
export function Destinations() {
  const state = useAsync(() => api.destinations(), []);
  const editor = useCan('editor');
  const [dialog, setDialog] = useState<{ kind: 'new' } | { kind: 'edit' | 'delete'; d: Destination }>();
  const [tests, setTests] = useState<
    Record<string, { busy?: boolean; result?: DestinationTestResult; error?: unknown }>
  >({});
  const [notice, setNotice] = useState<string>();

  async function test(name: string) {
    setTests((t) => ({ ...t, [name]: { busy: true } }));
    try {
      const result = await api.testDestination(name);
      setTests((t) => ({ ...t, [name]: { result } }));
    } catch (error) {
      setTests((t) => ({ ...t, [name]: { error } }));
    }
  }

  return (
    <div className="card">
      <div className="page-head">
        <h2>Destinations</h2>
        {editor ? (
          <button type="button" className="primary" onClick={() => setDialog({ kind: 'new' })}>
            New destination
          </button>
        ) : null}
      </div>
      {notice ? <Notice onDone={() => setNotice(undefined)}>{notice}</Notice> : null}
      <Loaded state={state}>
        {(list) =>
          list.length ? (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Where</th>
                  <th scope="col">Used by</th>
                  <th scope="col">Buffer</th>
                  {editor ? (
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {list.map((d) => {
                  const t = tests[d.name];
                  return (
                    <tr key={d.name}>
                      <td>
                        <strong>{d.name}</strong>
                        {t?.error ? <ErrorMessage error={t.error} /> : null}
                        {t?.result?.ok ? (
                          <div className="test-ok small" role="status">
                            {t.result.probed ? 'Test write OK' : 'Configuration OK (this kind has no probe)'}
                          </div>
                        ) : null}
                        {t?.result && !t.result.ok ? (
                          <div className="alert alert-error small" role="alert">
                            <code>{t.result.error.code}</code> {t.result.error.message}
                            <div className="action">
                              <strong>Recommended action:</strong> {t.result.error.action}
                            </div>
                          </div>
                        ) : null}
                      </td>
                      <td>{d.kind}</td>
                      <td>
                        <code className="clip">{describe(d)}</code>
                      </td>
                      <td>{d.usedBy.join(', ') || <span className="muted">no collector</span>}</td>
                      <td>
                        <BufferCell d={d} />
                      </td>
                      {editor ? (
                        <td className="right nowrap">
                          <button
                            type="button"
                            className="small"
                            disabled={t?.busy}
                            onClick={() => test(d.name)}
                          >
                            {t?.busy ? 'Testing…' : 'Test'}
                            <span className="sr-only"> {d.name}</span>
                          </button>{' '}
                          <button
                            type="button"
                            className="small"
                            onClick={() => setDialog({ kind: 'edit', d })}
                          >
                            Edit<span className="sr-only"> {d.name}</span>
                          </button>{' '}
                          <button
                            type="button"
                            className="small danger"
                            onClick={() => setDialog({ kind: 'delete', d })}
                          >
                            Delete<span className="sr-only"> {d.name}</span>
                          </button>
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : (
            <Empty>No destinations yet: a collector needs at least one.</Empty>
          )
        }
      </Loaded>
      {dialog?.kind === 'new' || dialog?.kind === 'edit' ? (
        <Modal
          title={dialog.kind === 'new' ? 'New destination' : `Edit destination ${dialog.d.name}`}
          onClose={() => setDialog(undefined)}
          wide
        >
          <DestinationForm
            existing={dialog.kind === 'edit' ? dialog.d : undefined}
            onCancel={() => setDialog(undefined)}
            onSaved={async (d) => {
              setDialog(undefined);
              setNotice(`Destination ${d.name} saved.`);
              await state.reload();
            }}
          />
        </Modal>
      ) : null}
      {dialog?.kind === 'delete' ? (
        <Confirm
          title={`Delete destination ${dialog.d.name}?`}
          confirm="Delete destination"
          danger
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await api.deleteDestination(dialog.d.name);
            await state.reload();
          }}
        >
          <p>
            Only a destination no collector uses, and whose buffer holds nothing, can be deleted. Files
            already written stay.
          </p>
        </Confirm>
      ) : null}
    </div>
  );
}
