/**
 * The time zones the console offers (time-zone-picker.tsx): IANA time zones by their current names,
 * each with its UTC offset now.
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
    return { offset: minutes ? `UTC${m[1]}${m[2]}:${m[3]}` : 'UTC±00:00', minutes };
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
