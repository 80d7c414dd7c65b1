/**
 * The depth and flow chart of the selected queue, drawn as SVG from the page's own samples:
 * top, messages (total, free, claimed); bottom, net flow per second (bars above the zero line
 * while the queue grows, below while it drains). The text alternative is describeChart().
 */
import { s } from './dom.js';
import { chartSpan, formatOffset, netFlow, niceCeiling, type Sample } from './series.js';

/** The viewBox; CSS scales it to the available width. */
export const CHART = { width: 640, height: 250 } as const;
const LEFT = 52;
const RIGHT = 8;
const DEPTH = { top: 18, bottom: 140 };
const FLOW = { top: 172, bottom: 226 };

const SERIES = [
  { key: 'total', cls: 'series-total' },
  { key: 'free', cls: 'series-free' },
  { key: 'claimed', cls: 'series-claimed' },
] as const;

/** Replaces the content of `plot` with the chart of `samples` as of `now` (ms). */
export function renderChart(plot: SVGGElement, samples: readonly Sample[], now: number): void {
  const span = chartSpan(samples, now);
  const start = now - span;
  const x = (t: number) => LEFT + (Math.max(0, t - start) / span) * (CHART.width - LEFT - RIGHT);
  const depthMax = niceCeiling(Math.max(0, ...samples.map((p) => p.total)));
  const y = (v: number) => DEPTH.bottom - (v / depthMax) * (DEPTH.bottom - DEPTH.top);
  const flows = netFlow(samples);
  const flowMax = niceCeiling(Math.max(0, ...flows.map((f) => Math.abs(f.perSecond))));
  const zero = (FLOW.top + FLOW.bottom) / 2;
  const fy = (v: number) => zero - (v / flowMax) * (zero - FLOW.top);

  const label = (px: number, py: number, text: string, anchor = 'end') =>
    s('text', { x: px, y: py, 'text-anchor': anchor, 'dominant-baseline': 'middle', class: 'axis-label' }, text);
  const rule = (py: number, cls = 'grid') => s('line', { x1: LEFT, x2: CHART.width - RIGHT, y1: py, y2: py, class: cls });

  const parts: SVGElement[] = [
    label(LEFT, 6, 'messages', 'start'),
    rule(y(0)),
    rule(y(depthMax)),
    label(LEFT - 6, y(0), '0'),
    label(LEFT - 6, y(depthMax), String(depthMax)),
    label(LEFT, FLOW.top - 12, 'net flow (messages/s)', 'start'),
    rule(fy(flowMax)),
    rule(zero, 'zero'),
    rule(fy(-flowMax)),
    label(LEFT - 6, fy(flowMax), `+${flowMax}`),
    label(LEFT - 6, zero, '0'),
    label(LEFT - 6, fy(-flowMax), `\u2212${flowMax}`),
  ];
  for (const [offset, anchor] of [[span, 'start'], [span / 2, 'middle'], [0, 'end']] as const) {
    parts.push(label(x(now - offset), CHART.height - 8, formatOffset(offset), anchor));
  }
  for (const { key, cls } of SERIES) {
    if (samples.length === 0) break;
    const points = samples.map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
    parts.push(s('polyline', { points, class: `line ${cls}` }));
  }
  for (const f of flows) {
    if (f.perSecond === 0) continue;
    const top = Math.min(zero, fy(f.perSecond));
    const width = Math.max(1, x(f.to) - x(f.from) - 1);
    parts.push(s('rect', { x: x(f.from).toFixed(1), y: top.toFixed(1), width: width.toFixed(1), height: Math.abs(fy(f.perSecond) - zero).toFixed(1), class: f.perSecond > 0 ? 'flow-up' : 'flow-down' }));
  }
  plot.replaceChildren(...parts);
}
