import { type KeyboardEvent, useId, useMemo, useRef, useState } from 'react';
import { matchZones, timeZones, type Zone } from './time-zones.ts';

/**
 * The time zone picker: a searchable list (an ARIA 1.2 combobox with a listbox popup) of time zones by
 * their current IANA names and UTC offsets (time-zones.ts); the old names and offsets find them too.
 */

const MAX_SHOWN = 80;

export function TimeZonePicker({
  id,
  value,
  onChange,
  describedBy,
}: {
  id: string;
  value: string;
  onChange: (zone: string) => void;
  describedBy?: string;
}) {
  const zones = useMemo(() => timeZones(), []);
  const [text, setText] = useState<string | undefined>(undefined);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const input = useRef<HTMLInputElement>(null);
  const current = zones.find((z) => z.name === value || z.aliases.includes(value));
  const shown = matchZones(zones, text ?? '').slice(0, MAX_SHOWN);
  const label = (z: Zone) => `${z.name} (${z.offset})`;

  function choose(z: Zone | undefined) {
    onChange(z ? z.name : '');
    setText(undefined);
    setOpen(false);
  }

  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.max(0, Math.min(shown.length - 1, a + (e.key === 'ArrowDown' ? 1 : -1))));
    } else if (e.key === 'Enter' && open) {
      e.preventDefault();
      if (shown[active]) choose(shown[active]);
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      setOpen(false);
      setText(undefined);
    }
  }

  return (
    <div className="combobox">
      <div className="with-buttons">
        <input
          ref={input}
          id={id}
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={open && shown[active] ? `${listId}-${active}` : undefined}
          aria-describedby={describedBy}
          autoComplete="off"
          placeholder="Search: city, region or offset (e.g. Berlin, +05:30)"
          value={text ?? (current ? label(current) : value)}
          onChange={(e) => {
            setText(e.target.value);
            setActive(0);
            setOpen(true);
          }}
          onFocus={(e) => e.target.select()}
          onClick={() => setOpen(true)}
          onBlur={() => {
            setOpen(false);
            setText(undefined);
          }}
          onKeyDown={onKey}
        />
        {value ? (
          <button type="button" className="small" onClick={() => choose(undefined)}>
            Clear<span className="sr-only"> time zone</span>
          </button>
        ) : null}
      </div>
      {open ? (
        <div className="listbox" id={listId} role="listbox" aria-label="Time zones">
          {shown.length ? (
            shown.map((z, i) => (
              <div
                key={z.name}
                id={`${listId}-${i}`}
                role="option"
                tabIndex={-1}
                aria-selected={z.name === current?.name}
                className={i === active ? 'active' : undefined}
                // Before the input's blur: the choice is made while the list is still there.
                onMouseDown={(e) => {
                  e.preventDefault();
                  choose(z);
                }}
              >
                <span>{z.name}</span> <span className="muted">{z.offset}</span>
                {z.aliases.length ? <span className="muted small"> (was {z.aliases.join(', ')})</span> : null}
              </div>
            ))
          ) : (
            <div className="muted empty-option">No time zone matches “{text}”.</div>
          )}
        </div>
      ) : null}
    </div>
  );
}
