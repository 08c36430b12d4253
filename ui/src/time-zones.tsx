import { type KeyboardEvent, useId, useMemo, useRef, useState } from 'react';

/**
 * The time zone picker: a searchable list (an ARIA combobox) of IANA time zones by their current
 * names, each with its UTC offset now.
 *
 * Browsers list their zones (Intl.supportedValuesOf('timeZone')) under CLDR's identifiers, which keep
 * names IANA has since replaced: Asia/Calcutta for Asia/Kolkata, Europe/Kiev for Europe/Kyiv. Those are
 * shown by their IANA names (the `Zone` lines of the tz database, https://data.iana.org/time-zones/),
 * and the old name still finds them. Both names are valid for the server (it accepts what the
 * runtime's Intl accepts), so a collector saved with an old name keeps it until edited.
 */

/** CLDR identifier → the IANA name that replaced it (tzdata `backward` links within one country). */
export const RENAMED: Record<string, string> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

export interface Zone {
  name: string;
  /** "UTC+05:30" now (daylight saving time included). */
  offset: string;
  /** Minutes east of UTC, for sorting. */
  minutes: number;
  /** Names it was known by (the CLDR identifier), for searching. */
  aliases: string[];
}

function offsetOf(zone: string, at: Date): { offset: string; minutes: number } {
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(part ?? '');
    if (!m) return { offset: 'UTC±00:00', minutes: 0 };
    const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
    return { offset: `UTC${m[1]}${m[2]}:${m[3]}`, minutes };
  } catch {
    return { offset: '', minutes: 0 };
  }
}

export function timeZones(at = new Date()): Zone[] {
  const byName = new Map<string, Zone>();
  for (const id of ['UTC', ...Intl.supportedValuesOf('timeZone')]) {
    const name = RENAMED[id] ?? id;
    const z = byName.get(name) ?? { name, ...offsetOf(name, at), aliases: [] };
    if (id !== name) z.aliases.push(id);
    byName.set(name, z);
  }
  return [...byName.values()].sort((a, b) =>
    a.name === 'UTC' ? -1 : b.name === 'UTC' ? 1 : a.name.localeCompare(b.name),
  );
}

const words = (s: string) => s.toLowerCase().replace(/[_/]/g, ' ');

/** Zones matching `query` by name, city, old name or offset ("kolkata", "new york", "+05:30", "utc-3"). */
export function matchZones(zones: Zone[], query: string): Zone[] {
  const q = words(query.trim());
  if (!q) return zones;
  const off = /^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$/.exec(q);
  if (off) {
    const sign = off[1] === '+' ? 1 : -1;
    const hours = Number(off[2]);
    const minutes = off[3] === undefined ? undefined : Number(off[3]);
    return zones.filter((z) =>
      minutes === undefined
        ? (z.minutes === 0 || Math.sign(z.minutes) === sign) && Math.floor(Math.abs(z.minutes) / 60) === hours
        : z.minutes === sign * (hours * 60 + minutes),
    );
  }
  return zones.filter((z) => words(z.name).includes(q) || z.aliases.some((a) => words(a).includes(q)));
}

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
