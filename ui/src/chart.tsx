import { compact, exact, utcTime } from './format.ts';

/** Events per hour over the last 7 days as an SVG bar chart: one bar per hour, local day ticks. */

const HOUR = 3_600_000;
const W = 840;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };
const hourLabel = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric' });

export function VolumeChart({
  volume,
  now = Date.now(),
}: {
  volume: Array<{ hour: string; count: number }>;
  now?: number;
}) {
  const end = Math.floor(now / HOUR) * HOUR; // start of the current hour
  const start = end - 167 * HOUR;
  const counts = new Map(volume.map((v) => [Date.parse(v.hour), v.count]));
  const buckets = Array.from({ length: 168 }, (_, i) => {
    const t = start + i * HOUR;
    return { t, count: counts.get(t) ?? 0 };
  });
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const peak = Math.max(0, ...buckets.map((b) => b.count));
  const max = niceMax(peak);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / 168;
  const y = (v: number) => PAD.top + plotH - (max ? (v / max) * plotH : 0);

  // Local midnights inside the window, for the day ticks.
  const ticks: number[] = [];
  const d = new Date(start);
  d.setHours(24, 0, 0, 0);
  while (d.getTime() <= end) {
    ticks.push(d.getTime());
    d.setDate(d.getDate() + 1);
  }

  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Events per hour over the last 7 days: ${exact(total)} in total, at most ${exact(peak)} in one hour`}
      >
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} />
            <text className="axis" x={PAD.left - 6} y={y(max * f) + 4} textAnchor="end">
              {compact(Math.round(max * f))}
            </text>
          </g>
        ))}
        {buckets.map((b, i) =>
          b.count ? (
            <rect
              key={b.t}
              className="bar"
              x={PAD.left + i * bw + 0.5}
              width={Math.max(1, bw - 1)}
              y={y(b.count)}
              height={PAD.top + plotH - y(b.count)}
            >
              <title>{`${hourLabel.format(b.t)} (${utcTime(new Date(b.t).toISOString())}): ${exact(b.count)} events`}</title>
            </rect>
          ) : null,
        )}
        {ticks.map((t) => {
          const x = PAD.left + ((t - start) / HOUR) * bw;
          return (
            <g key={t}>
              <line className="tick" x1={x} x2={x} y1={PAD.top + plotH} y2={PAD.top + plotH + 4} />
              <text className="axis" x={x + 3} y={H - 6}>
                {dayLabel.format(t)}
              </text>
            </g>
          );
        })}
        {total === 0 ? (
          <text className="empty-chart" x={PAD.left + plotW / 2} y={PAD.top + plotH / 2} textAnchor="middle">
            No events in the last 7 days
          </text>
        ) : null}
        <line
          className="baseline"
          x1={PAD.left}
          x2={W - PAD.right}
          y1={PAD.top + plotH}
          y2={PAD.top + plotH}
        />
      </svg>
      <figcaption className="muted small">
        Events per hour, last 7 days (your time zone): {compact(total)} in total
        {total ? `, peak ${compact(peak)} per hour` : ''}.
      </figcaption>
    </figure>
  );
}

function niceMax(v: number): number {
  if (v <= 0) return 0;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
