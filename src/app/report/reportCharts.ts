// The report's figures as Vega-Lite specifications, rendered headless: SVG by Vega itself, PNG
// from that SVG by resvg (a native module; where it cannot load, the report has SVG only and
// says so). The specifications are written next to the figures, so a figure can be restyled.
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { ReportData } from './reportData';

export interface Figure {
  name: string;
  title: string;
  /** What the figure shows, for the alt text and the caption. */
  caption: string;
  spec: TopLevelSpec;
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const CONFIG = { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 }, view: { stroke: null } } as const;

/** The seed, best baseline and best candidate as horizontal reference lines. */
function referenceRules(d: ReportData) {
  const s = d.summary;
  return [
    s.seed && { label: `seed ${(100 * s.seed.score).toFixed(1)}%`, score: s.seed.score },
    s.bestBaseline && { label: `best baseline ${(100 * s.bestBaseline.score).toFixed(1)}%`, score: s.bestBaseline.score },
    s.bestCandidate && { label: `best candidate ${(100 * s.bestCandidate.score).toFixed(1)}%`, score: s.bestCandidate.score },
  ].filter((r): r is { label: string; score: number } => Boolean(r));
}

export function reportFigures(d: ReportData): Figure[] {
  const refs = referenceRules(d);
  const refLayers = refs.length
    ? [
        { data: { values: refs }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666' }, encoding: { y: { field: 'score', type: 'quantitative' } } },
        {
          data: { values: refs },
          mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#444', fontSize: 10 },
          encoding: { y: { field: 'score', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
        },
      ]
    : [];
  const scoreAxis = { type: 'quantitative', title: 'dev score', axis: { format: '.0%' }, scale: { zero: false } } as const;
  const distributions: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    width: 520,
    height: 260,
    layer: [
      {
        data: { values: d.samples },
        mark: { type: 'boxplot', extent: 1.5, opacity: 0.55, size: 18 },
        encoding: {
          x: { field: 'iteration', type: 'ordinal', title: 'iteration', axis: { labelAngle: 0 } },
          xOffset: { field: 'source', type: 'nominal', sort: ['factory', 'control'] },
          y: { field: 'score', ...scoreAxis },
          color: { field: 'source', type: 'nominal', title: null, scale: { domain: ['factory', 'control'], range: ['#3b6fb6', '#d9822b'] } },
        },
      },
      ...refLayers,
    ],
  } as TopLevelSpec;
  const progress: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    width: 520,
    height: 260,
    layer: [
      {
        data: { values: d.bestSoFar.map((p) => ({ iteration: p.iteration, low: p.interval[0], high: p.interval[1] })) },
        mark: { type: 'area', opacity: 0.18, color: '#3b6fb6' },
        encoding: { x: { field: 'iteration', type: 'quantitative', title: 'iteration', axis: { tickMinStep: 1, format: 'd' } }, y: { field: 'low', ...scoreAxis }, y2: { field: 'high' } },
      },
      {
        data: {
          values: [
            ...d.bestSoFar.map((p) => ({ iteration: p.iteration, score: p.score, series: 'best so far' })),
            ...d.summary.iterations.filter((it) => it.best).map((it) => ({ iteration: it.iteration, score: it.best!.score, series: 'iteration best' })),
            ...d.summary.iterations.filter((it) => it.meanScore !== null).map((it) => ({ iteration: it.iteration, score: it.meanScore, series: 'iteration mean' })),
            ...d.summary.iterations.filter((it) => it.control.meanScore !== null).map((it) => ({ iteration: it.iteration, score: it.control.meanScore, series: 'control mean' })),
          ],
        },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'score', type: 'quantitative' },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['best so far', 'iteration best', 'iteration mean', 'control mean'], range: ['#3b6fb6', '#c2452d', '#3f9a4a', '#d9822b'] } },
          strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: ['best so far', 'iteration best', 'iteration mean', 'control mean'], range: [[1, 0], [1, 0], [5, 3], [2, 2]] } },
        },
      },
      ...refLayers,
    ],
  } as TopLevelSpec;
  return [
    {
      name: 'distributions',
      title: 'Dev scores per iteration: the factory against the random-program control',
      caption: 'Box plots of the dev scores of each iteration\'s scored algorithms (factory) and of the random programs sampled at the same temperature (control); dashed lines: the seed, the best tuned baseline and the best candidate model.',
      spec: distributions,
    },
    {
      name: 'progress',
      title: 'Best so far, with its 95% interval',
      caption: 'The best dev score so far (band: its 95% stratified bootstrap interval), each iteration\'s best and mean, and the control\'s mean; dashed lines: references.',
      spec: progress,
    },
  ];
}

/** The figure as SVG (Vega's own headless SVG renderer). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Warnings go nowhere: the specifications are ours, and a terminal is not the place.
  const quiet = { level: () => quiet, error: () => quiet, warn: () => quiet, info: () => quiet, debug: () => quiet } as never;
  const view = new vega.View(vega.parse(compile(spec, { logger: quiet }).spec), { renderer: 'none', logLevel: vega.None });
  try {
    return await view.toSVG(1);
  } finally {
    view.finalize();
  }
}

type Resvg = typeof import('@resvg/resvg-js');

let resvg: Resvg | null | undefined;
let pngProblem = '';

/** The PNG renderer, or why there is none here. */
function pngRenderer(): Resvg | string {
  if (resvg === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      resvg = require('@resvg/resvg-js') as Resvg;
    } catch (err) {
      resvg = null;
      pngProblem = (err as Error).message.split('\n')[0];
    }
  }
  return resvg ?? `PNG figures need @resvg/resvg-js, which did not load here (${pngProblem})`;
}

/** The SVG as PNG at twice its size, or the reason it cannot be made here. */
export function renderPng(svg: string): Buffer | string {
  const r = pngRenderer();
  if (typeof r === 'string') return r;
  return Buffer.from(new r.Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
}
