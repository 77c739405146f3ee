// A line chart in plain SVG: time on x, one or more series on y. Enough for health over a window.
export interface Series {
  label: string;
  className: string;
  points: { at: number; value: number | null }[];
}

const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 26 };

export function LineChart({
  title,
  series,
  from,
  to,
  yMax,
  format,
}: {
  title: string;
  series: Series[];
  from: number;
  to: number;
  yMax: number;
  format(value: number): string;
}) {
  const x = (at: number) => PAD.left + ((at - from) / Math.max(1, to - from)) * (W - PAD.left - PAD.right);
  const y = (value: number) => H - PAD.bottom - (value / (yMax || 1)) * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.5, 1].map((f) => f * yMax);
  const times = [from, (from + to) / 2, to];
  const label = (at: number) =>
    new Date(at).toLocaleString(
      undefined,
      to - from > 2 * 86400_000 ? { weekday: "short", hour: "2-digit" } : { hour: "2-digit", minute: "2-digit" },
    );
  return (
    <figure className="chart">
      <figcaption>
        {title}
        <span className="legend">
          {series.map((s) => (
            <span key={s.label} className={`legend-item ${s.className}`}>
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="axis">
              {format(t)}
            </text>
          </g>
        ))}
        {times.map((t, i) => (
          <text key={t} x={x(t)} y={H - 6} textAnchor={i === 0 ? "start" : i === 2 ? "end" : "middle"} className="axis">
            {label(t)}
          </text>
        ))}
        {series.map((s) => {
          // A bucket without attempts breaks the line rather than dropping it to zero.
          const segments: string[][] = [[]];
          for (const p of s.points) {
            if (p.value === null) segments.push([]);
            else segments.at(-1)!.push(`${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`);
          }
          return (
            <g key={s.label} className={s.className}>
              {segments
                .filter((points) => points.length)
                .map((points) =>
                  points.length === 1 ? (
                    <circle key={points[0]} cx={points[0]!.split(",")[0]} cy={points[0]!.split(",")[1]} r={2.5} />
                  ) : (
                    <polyline key={points[0]} points={points.join(" ")} fill="none" />
                  ),
                )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
