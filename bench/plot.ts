/**
 * SVG plots drawn with Vega-Lite (compiled to Vega, rendered headless: no canvas, no browser).
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ScenarioResult } from './load.js';
import type { DepthPoint } from './depth.js';

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

const METRIC_ORDER = ['capacity units per request (RRU + WRU)', 'DynamoDB calls per request', 'latency p50 (ms)'] as const;

/** Stats and claim (limit 10) cost and latency vs queue depth. */
export function depthSpec(points: readonly DepthPoint[]): TopLevelSpec {
  const values = points.flatMap((p) =>
    (
      [
        ['GET …/stats', p.stats],
        ['claim (limit 10)', p.claim],
      ] as const
    ).flatMap(([request, cost]) =>
      cost
        ? [
            { depth: p.depth, request, metric: METRIC_ORDER[0], value: cost.perCall.read + cost.perCall.write },
            { depth: p.depth, request, metric: METRIC_ORDER[1], value: cost.perCall.calls },
            { depth: p.depth, request, metric: METRIC_ORDER[2], value: Number(cost.latency.p50.toFixed(1)) },
          ]
        : [],
    ),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Stats and claim cost vs queue depth (a tenth of it in live claims)',
    data: { values },
    facet: {
      column: { field: 'metric', type: 'nominal', title: null, sort: [...METRIC_ORDER], header: { labelFontWeight: 'bold' } },
    },
    spec: {
      width: 220,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'depth', type: 'quantitative', scale: { type: 'log' }, title: 'queue depth (messages)' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
        color: { field: 'request', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
        strokeDash: { field: 'request', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 0 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}
