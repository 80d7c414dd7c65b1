/**
 * SVG plots drawn with Vega-Lite (compiled to Vega, rendered headless: no canvas, no browser).
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ScenarioResult } from './load.js';
import type { ScalePoint } from './scale.js';

const WIDTH = 420;
const HEIGHT = 260;

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Work queue: messages/s consumed and posted, by number of consumers. */
export function throughputSpec(results: readonly ScenarioResult[]): TopLevelSpec {
  const values = results
    .filter((r) => r.spec.kind === 'workqueue')
    .flatMap((r) => [
      { consumers: r.spec.consumers, series: 'consumed (claim → delete)', rate: Math.round(r.consumed) },
      { consumers: r.spec.consumers, series: `posted (${r.spec.producers} producers, batch ${r.spec.batch})`, rate: Math.round(r.posted) },
    ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Work queue throughput vs consumers',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'consumers', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: [...new Set(values.map((v) => v.consumers))] } },
      y: { field: 'rate', type: 'quantitative', title: 'messages / s' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 0 } },
    },
  };
}

const METRIC_ORDER = ['capacity units per claim (RRU + WRU)', 'items evaluated per claim (ScannedCount)', 'claim latency p50 (ms)'] as const;

/** Claim cost (capacity units and items evaluated per claim) and latency vs queue depth. */
export function claimCostSpec(points: readonly ScalePoint[]): TopLevelSpec {
  const values = points.flatMap((p) => {
    const live = `${p.liveClaimed.toLocaleString('en-US')} in live claims`;
    return [
      { depth: p.depth, live, metric: METRIC_ORDER[0], value: p.perClaim.read + p.perClaim.write },
      { depth: p.depth, live, metric: METRIC_ORDER[1], value: p.perClaim.scanned },
      { depth: p.depth, live, metric: METRIC_ORDER[2], value: Number(p.latency.p50.toFixed(1)) },
    ];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Claim (limit 10) cost vs queue depth',
    data: { values },
    facet: {
      column: { field: 'metric', type: 'nominal', title: null, sort: [...METRIC_ORDER], header: { labelFontWeight: 'bold' } },
    },
    spec: {
      width: 220,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'depth', type: 'quantitative', scale: { type: 'log' }, title: 'queue depth (claimable messages)' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
        color: { field: 'live', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
        strokeDash: { field: 'live', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}
