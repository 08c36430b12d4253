/** Numbers, times and durations as the console shows them. */

/** 950, 12.4k, 3.1M: a count at a glance (the exact value goes in a title). */
export function compact(n: number): string {
  const abs = Math.abs(n);
  const fmt = (v: number, unit: string) => `${v >= 100 ? Math.round(v) : Number(v.toFixed(1))}${unit}`;
  if (abs < 1000) return String(n);
  if (abs < 999_950) return fmt(n / 1000, 'k');
  if (abs < 999_950_000) return fmt(n / 1_000_000, 'M');
  return fmt(n / 1_000_000_000, 'B');
}

export const exact = (n: number) => n.toLocaleString();

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A time in the browser's zone. */
export const localTime = (iso: string) => local.format(new Date(iso));

/** The same time in UTC, for the hover title: 2026-11-22 09:31:05 UTC. */
export const utcTime = (iso: string) => `${new Date(iso).toISOString().replace('T', ' ').slice(0, 19)} UTC`;

export function ago(iso: string, now = Date.now()): string {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

/** "workspaceId" → "Workspace ID", "baseUrl" → "Base URL". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[-_]+/g, ' ')
    .split(' ')
    .filter(Boolean)
    .map((w) => (/^(id|url|uri|api|ip|pem|jwt|oauth)$/i.test(w) ? w.toUpperCase() : w.toLowerCase()));
  const s = words.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const FAMILIES: Record<string, string> = {
  'rest-time-window': 'REST API (time window)',
  files: 'Files / exports',
  queue: 'Queue',
  'object-storage': 'Object storage',
  webhook: 'Webhook',
  context: 'Context',
  delta: 'Delta query',
};
export const familyTitle = (f: string) => FAMILIES[f] ?? humanize(f);

/** Two letters for a source tile: "ChatGPT Enterprise" → "CE", "Okta" → "Ok". */
export function initials(title: string): string {
  const words = title.split(/[\s-]+/).filter((w) => /^[A-Za-z0-9]/.test(w));
  if (words.length >= 2) return (words[0]![0]! + words[1]![0]!).toUpperCase();
  return title.charAt(0).toUpperCase() + title.charAt(1).toLowerCase();
}

/** A stable hue per source id, so a tile keeps its colour. */
export function hue(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}
