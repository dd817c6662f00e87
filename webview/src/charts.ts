// The two charts above the table, drawn with Chart.js 4. Only the parts used are imported and
// registered, so esbuild leaves the rest out. Reference lines (seed, best baseline, control) are
// a small inline plugin rather than an extra package. Animations are off: the panel must
// render a 3000-algorithm iteration quickly, and stepping should feel immediate.
import {
  BarController,
  BarElement,
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartOptions,
  type Plugin,
  type Scale,
  type TooltipItem,
} from 'chart.js';
import type { IterationOverview } from '../../src/protocol/webviewMessages';
import { pct } from './format';
import { horizontalSpots, placeLabel, verticalSpots, type Box, type Obstacles } from './labelPlacement';
import { withAlpha, type Palette } from './theme';

// No Legend plugin: the legends are HTML next to the canvas (themed by CSS, and not re-measured
// on every update, which was the largest part of a chart update).
Chart.register(BarController, BarElement, LineController, LineElement, PointElement, LinearScale, Filler, Tooltip);

export const BINS = 20;

interface RefLine {
  value: number;
  label?: string;
  color: string;
  dash?: number[];
  width?: number;
}

interface RefLines {
  x: RefLine[];
  y: RefLine[];
  palette: Palette;
}

const font = (p: Palette, delta = 0) => `${Math.max(9, p.fontSize + delta)}px ${p.fontFamily}`;

/**
 * Draws vertical (x) and horizontal (y) reference lines under the data, and their labels over
 * it, each where it hides no data line, point or bar and no other label (labelPlacement.ts).
 */
function refLinePlugin(get: () => RefLines): Plugin {
  return {
    id: 'selfdevRefLines',
    beforeDatasetsDraw(chart) {
      const { x: xLines, y: yLines } = get();
      const { ctx, chartArea: area } = chart;
      const xs = chart.scales.x;
      const ys = chart.scales.y;
      if (!xs || !ys) return;
      ctx.save();
      for (const { l, px } of inView(xLines, xs, area.left, area.right)) stroke(ctx, l, px, area.top, px, area.bottom);
      for (const { l, px } of inView(yLines, ys, area.top, area.bottom)) stroke(ctx, l, area.left, px, area.right, px);
      ctx.restore();
    },
    afterDatasetsDraw(chart) {
      const { x: xLines, y: yLines, palette } = get();
      const { ctx, chartArea: area } = chart;
      const xs = chart.scales.x;
      const ys = chart.scales.y;
      if (!xs || !ys) return;
      const h = palette.fontSize + 2;
      ctx.save();
      ctx.font = font(palette, -1);
      ctx.textBaseline = 'top';
      const obstacles = dataObstacles(chart);
      const placed: Box[] = [];
      const put = (l: RefLine, spots: Box[]) => {
        const spot = placeLabel(spots, obstacles, placed);
        placed.push(spot);
        label(ctx, palette, l, spot);
      };
      for (const { l, px } of inView(xLines, xs, area.left, area.right)) {
        if (l.label) put(l, verticalSpots(px, ctx.measureText(l.label).width + 6, h, area));
      }
      for (const { l, px } of inView(yLines, ys, area.top, area.bottom)) {
        if (l.label) put(l, horizontalSpots(px, ctx.measureText(l.label).width + 6, h, area));
      }
      ctx.restore();
    },
  };
}

/** The lines inside the plot area, with their pixel positions, in pixel order. */
function inView(lines: RefLine[], scale: Scale, lo: number, hi: number): { l: RefLine; px: number }[] {
  return lines
    .map((l) => ({ l, px: scale.getPixelForValue(l.value) }))
    .filter(({ px }) => px >= lo - 1 && px <= hi + 1)
    .sort((a, b) => a.px - b.px);
}

/** The drawn data a label must not hide: the visible lines' segments and points, and the bars. */
function dataObstacles(chart: Chart): Obstacles {
  const segments: Obstacles['segments'] = [];
  const boxes: Box[] = [];
  chart.data.datasets.forEach((ds, i) => {
    if (!chart.isDatasetVisible(i)) return;
    const meta = chart.getDatasetMeta(i);
    if (meta.type === 'bar') {
      for (const el of meta.data) {
        const { x, y, base, width } = el.getProps(['x', 'y', 'base', 'width'], true) as unknown as { x: number; y: number; base: number; width: number };
        if (y !== base) boxes.push({ left: x - width / 2, top: Math.min(y, base), width, height: Math.abs(base - y) });
      }
      return;
    }
    // The interval band's edges have no line of their own; covering its fill is acceptable.
    if ((ds as { borderWidth?: number }).borderWidth === 0) return;
    let prev: { x: number; y: number } | null = null;
    for (const el of meta.data) {
      const q = { x: el.x, y: el.y };
      boxes.push({ left: q.x - 4, top: q.y - 4, width: 8, height: 8 });
      if (prev) segments.push({ x0: prev.x, y0: prev.y, x1: q.x, y1: q.y });
      prev = q;
    }
  });
  return { segments, boxes };
}

function stroke(ctx: CanvasRenderingContext2D, l: RefLine, x0: number, y0: number, x1: number, y1: number): void {
  ctx.beginPath();
  ctx.setLineDash(l.dash ?? []);
  ctx.lineWidth = l.width ?? 1.5;
  ctx.strokeStyle = l.color;
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  ctx.setLineDash([]);
}

function label(ctx: CanvasRenderingContext2D, p: Palette, l: RefLine, at: Box): void {
  // A backdrop in the editor color keeps the text readable over the interval band and grid lines.
  ctx.fillStyle = withAlpha(p.background, 0.85);
  ctx.fillRect(at.left, at.top, at.width, at.height);
  ctx.fillStyle = l.color;
  ctx.fillText(l.label ?? '', at.left + 3, at.top + 1);
}

function baseOptions(p: Palette): ChartOptions {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    normalized: true,
    color: p.foreground,
    font: { family: p.fontFamily, size: p.fontSize - 1 },
    plugins: {
      tooltip: {
        backgroundColor: p.hoverBackground,
        borderColor: p.hoverBorder,
        borderWidth: 1,
        titleColor: p.foreground,
        bodyColor: p.foreground,
        titleFont: { family: p.fontFamily, size: p.fontSize, weight: 'bold' },
        bodyFont: { family: p.fontFamily, size: p.fontSize - 1 },
        cornerRadius: 2,
      },
    },
  };
}

function axis(p: Palette, title: string) {
  return {
    grid: { color: withAlpha(p.grid, p.highContrast ? 0.45 : 0.6), tickColor: withAlpha(p.grid, 0.6) },
    border: { color: p.grid },
    // Unrotated labels, sized from a few samples, no auto-skipping (the tick counts are capped):
    // otherwise most of a chart update is Chart.js measuring labels.
    ticks: { color: p.muted, font: { family: p.fontFamily, size: p.fontSize - 2 }, maxRotation: 0, minRotation: 0, sampleSize: 3, autoSkip: false },
    title: { display: true, text: title, color: p.muted, font: { family: p.fontFamily, size: p.fontSize - 2 } },
  };
}

const percentTick = (v: number | string) => `${Math.round(Number(v) * 100)}%`;

/** Counts per bin over [0, max]; a value equal to max falls in the last bin. */
export function histogram(values: readonly number[], max: number, bins = BINS): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v / max) * bins)))]++;
  }
  return counts;
}

/** The histogram's upper end: the largest value shown, rounded up to 5 points (at least 5%). */
export function histogramMax(values: readonly (number | null | undefined)[]): number {
  let m = 0;
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v) && v > m) m = v;
  return Math.min(1, Math.max(0.05, Math.ceil(m * 20 - 1e-9) / 20));
}

/** The reference scores both charts draw as lines. */
interface References {
  seed: number | null;
  bestBaseline: number | null;
  /** The best candidate model as it is: a merge that does not clear it has not helped. */
  bestCandidate: number | null;
}

function referenceLines(d: References, p: Palette): RefLine[] {
  const lines: RefLine[] = [];
  if (d.seed !== null) lines.push({ value: d.seed, label: `seed ${pct(d.seed)}`, color: p.foreground, dash: [3, 3] });
  if (d.bestBaseline !== null) lines.push({ value: d.bestBaseline, label: `best baseline ${pct(d.bestBaseline)}`, color: p.red, dash: [6, 3] });
  if (d.bestCandidate !== null) lines.push({ value: d.bestCandidate, label: `best candidate ${pct(d.bestCandidate)}`, color: p.purple, dash: [2, 2] });
  return lines;
}

/** The end of a chart's aria-label: the reference scores. */
const referencesLabel = (d: References) =>
  (d.seed !== null ? `; seed ${pct(d.seed)}` : '') + (d.bestBaseline !== null ? `; best baseline ${pct(d.bestBaseline)}` : '') + (d.bestCandidate !== null ? `; best candidate ${pct(d.bestCandidate)}` : '');

type Point = { x: number; y: number };

/** A Chart.js chart on a canvas, with reference lines drawn over it. */
abstract class RefLineChart<T extends 'bar' | 'line'> {
  protected chart: Chart<T, Point[]> | null = null;
  protected refs: RefLines | null = null;
  protected readonly plugin = refLinePlugin(() => this.refs!);

  constructor(protected readonly canvas: HTMLCanvasElement) {}
}

export interface DistributionInput extends References {
  iteration: number;
  scores: number[];
  control: number[];
  controlBest: number | null;
}

export class DistributionChart extends RefLineChart<'bar'> {
  /** What the tooltips read; options are rebuilt only when the theme changes. */
  private width = 0.05;
  private counts: number[][] = [[], []];
  private palette: Palette | null = null;

  private options(p: Palette, max: number): ChartOptions<'bar'> {
    const options: ChartOptions<'bar'> = {
      ...(baseOptions(p) as ChartOptions<'bar'>),
      datasets: { bar: { barPercentage: 0.92, categoryPercentage: 0.96, grouped: true } },
      scales: {
        x: { type: 'linear', min: 0, max, offset: false, ...axis(p, 'dev score'), ticks: { ...axis(p, '').ticks, callback: percentTick, maxTicksLimit: 11, includeBounds: false } },
        y: { type: 'linear', beginAtZero: true, grace: '40%', ...axis(p, 'share of programs'), ticks: { ...axis(p, '').ticks, callback: percentTick, maxTicksLimit: 6 } },
      },
    };
    options.plugins!.tooltip!.callbacks = {
      title: (items: TooltipItem<'bar'>[]) => {
        const i = items[0]?.dataIndex ?? 0;
        return `${pct(i * this.width)} – ${pct((i + 1) * this.width)}`;
      },
      label: (item: TooltipItem<'bar'>) => {
        const c = this.counts[item.datasetIndex]?.[item.dataIndex] ?? 0;
        return `${item.dataset.label ?? ''}: ${c} (${pct(item.parsed.y ?? 0)})`;
      },
    };
    return options;
  }

  render(d: DistributionInput, p: Palette): void {
    const max = histogramMax([...d.scores, ...d.control, d.seed, d.bestBaseline, d.bestCandidate, d.controlBest]);
    const width = max / BINS;
    const algo = histogram(d.scores, max);
    const ctrl = histogram(d.control, max);
    this.width = width;
    this.counts = [algo, ctrl];
    // Shares rather than counts: the control share is much smaller than the factory's output,
    // and the question is whether the two distributions differ.
    const share = (counts: number[], n: number): Point[] => counts.map((c, i) => ({ x: (i + 0.5) * width, y: n ? c / n : 0 }));
    const bars = (label: string, data: Point[], color: string) => ({
      label,
      data,
      backgroundColor: withAlpha(color, p.highContrast ? 1 : 0.75),
      borderColor: color,
      borderWidth: p.highContrast ? 1 : 0,
    });
    const datasets = [bars(`algorithms (${d.scores.length})`, share(algo, d.scores.length), p.blue), bars(`random-program control (${d.control.length})`, share(ctrl, d.control.length), p.orange)];
    const lines = referenceLines(d, p);
    if (d.controlBest !== null) lines.push({ value: d.controlBest, label: `control best ${pct(d.controlBest)}`, color: p.orange, dash: [2, 2] });
    this.refs = { x: lines, y: [], palette: p };

    this.canvas.setAttribute(
      'aria-label',
      `Distribution of dev scores in iteration ${d.iteration}: ${d.scores.length} scored algorithms and ${d.control.length} control programs${referencesLabel(d)}`,
    );
    if (!this.chart) {
      this.palette = p;
      this.chart = new Chart<'bar', Point[]>(this.canvas, { type: 'bar', data: { datasets }, options: this.options(p, max), plugins: [this.plugin] });
      return;
    }
    if (this.palette !== p) {
      this.palette = p;
      this.chart.options = this.options(p, max);
      this.chart.data.datasets = datasets;
    } else {
      // Same theme: new numbers into the same dataset objects, so Chart.js keeps its resolved
      // options and elements (several times faster than new datasets).
      this.chart.options.scales!.x!.max = max;
      this.chart.data.datasets.forEach((ds, i) => {
        ds.data = datasets[i].data;
        ds.label = datasets[i].label;
      });
    }
    this.chart.update('none');
  }
}

export interface ProgressInput extends References {
  iterations: IterationOverview[];
  shown: number | undefined;
}

export class ProgressChart extends RefLineChart<'line'> {
  private last: { d: ProgressInput; p: Palette } | null = null;

  private shownLine(d: ProgressInput, p: Palette): RefLine[] {
    return d.shown !== undefined ? [{ value: d.shown, color: withAlpha(p.foreground, 0.18), width: 8 }] : [];
  }

  render(d: ProgressInput, p: Palette): void {
    const prev = this.last;
    this.last = { d, p };
    if (this.chart && this.refs && prev && prev.p === p && prev.d.iterations === d.iterations && prev.d.seed === d.seed && prev.d.bestBaseline === d.bestBaseline && prev.d.bestCandidate === d.bestCandidate) {
      // Same overview, another iteration shown: move the marker, no new layout.
      this.refs.x = this.shownLine(d, p);
      this.chart.draw();
      return;
    }
    const its = d.iterations;
    const pts = (f: (it: IterationOverview) => number | null | undefined): Point[] =>
      its.flatMap((it) => {
        const y = f(it);
        return typeof y === 'number' ? [{ x: it.iteration, y }] : [];
      });
    const bestSoFar = pts((it) => it.bestSoFar?.score);
    const w = p.highContrast ? 3 : 2;
    const datasets = [
      {
        label: 'best so far, 95% interval',
        data: pts((it) => it.bestSoFar?.interval[1]),
        borderWidth: 0,
        pointRadius: 0,
        pointHitRadius: 0,
        fill: '+1',
        backgroundColor: withAlpha(p.blue, p.highContrast ? 0.35 : 0.18),
        borderColor: withAlpha(p.blue, 0.3),
      },
      {
        label: '',
        data: pts((it) => it.bestSoFar?.interval[0]),
        borderWidth: 0,
        pointRadius: 0,
        pointHitRadius: 0,
        fill: false,
        backgroundColor: 'transparent',
        borderColor: 'transparent',
      },
      { label: 'best so far', data: bestSoFar, borderColor: p.blue, backgroundColor: p.blue, borderWidth: w, pointRadius: 3, fill: false },
      {
        label: 'iteration best',
        data: pts((it) => it.best?.score),
        borderColor: p.orange,
        backgroundColor: p.orange,
        borderWidth: w - 0.5,
        pointRadius: 4,
        pointStyle: 'rectRot' as const,
        fill: false,
      },
      { label: 'iteration mean', data: pts((it) => it.meanScore), borderColor: p.green, backgroundColor: p.green, borderWidth: w - 0.5, borderDash: [5, 3], pointRadius: 2, fill: false },
    ];

    const yLines = referenceLines(d, p);
    this.refs = { x: this.shownLine(d, p), y: yLines, palette: p };

    // The y range always includes the reference lines, so seed and baseline stay in view.
    const ys = [...datasets.flatMap((ds) => ds.data.map((q) => q.y)), ...yLines.map((l) => l.value)];
    const lo = ys.length ? Math.min(...ys) : 0;
    const hi = ys.length ? Math.max(...ys) : 1;
    const pad = Math.max(0.02, (hi - lo) * 0.1);
    const first = its[0]?.iteration ?? 1;
    const last = its.at(-1)?.iteration ?? 1;
    const byIteration = new Map(its.map((it) => [it.iteration, it]));

    const options: ChartOptions<'line'> = {
      ...(baseOptions(p) as ChartOptions<'line'>),
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: {
          type: 'linear',
          min: first - 0.3,
          max: last + 0.3,
          ...axis(p, 'iteration'),
          ticks: { ...axis(p, '').ticks, stepSize: 1, callback: (v) => (Number.isInteger(Number(v)) ? String(v) : '') },
        },
        y: {
          type: 'linear',
          suggestedMin: Math.max(0, lo - pad),
          suggestedMax: Math.min(1, hi + pad),
          ...axis(p, 'dev score'),
          ticks: { ...axis(p, '').ticks, callback: percentTick, maxTicksLimit: 6 },
        },
      },
    };
    options.plugins!.tooltip!.filter = (item) => item.datasetIndex >= 2;
    options.plugins!.tooltip!.callbacks = {
      title: (items: TooltipItem<'line'>[]) => `iteration ${items[0]?.parsed.x ?? ''}`,
      label: (item: TooltipItem<'line'>) => {
        const it = byIteration.get(item.parsed.x ?? NaN);
        const base = `${item.dataset.label ?? ''}: ${pct(item.parsed.y)}`;
        if (item.datasetIndex === 2 && it?.bestSoFar) return `${base} (${pct(it.bestSoFar.interval[0])}–${pct(it.bestSoFar.interval[1])}, ${it.bestSoFar.id})`;
        if (item.datasetIndex === 3 && it?.best) return `${base} (${it.best.id})`;
        return base;
      },
    };

    const lastBest = bestSoFar.at(-1);
    this.canvas.setAttribute(
      'aria-label',
      `Progress over ${its.length} iterations: best so far ${lastBest ? pct(lastBest.y) : 'none'}${referencesLabel(d)}`,
    );
    if (!this.chart) {
      this.chart = new Chart<'line', Point[]>(this.canvas, { type: 'line', data: { datasets }, options, plugins: [this.plugin] });
    } else {
      this.chart.data.datasets = datasets;
      this.chart.options = options;
      this.chart.update('none');
    }
  }
}

type Swatch = 'bar-blue' | 'bar-orange' | 'band-blue' | 'line-blue' | 'line-orange' | 'dash-green' | 'dash-foreground' | 'dash-red' | 'dash-purple' | 'dot-orange';

interface LegendItem {
  swatch: Swatch;
  text: string;
}

function referenceLegend(d: References): LegendItem[] {
  const items: LegendItem[] = [];
  if (d.seed !== null) items.push({ swatch: 'dash-foreground', text: 'seed' });
  if (d.bestBaseline !== null) items.push({ swatch: 'dash-red', text: 'best baseline' });
  if (d.bestCandidate !== null) items.push({ swatch: 'dash-purple', text: 'best candidate' });
  return items;
}

/** The two charts side by side; keeps their last inputs so a theme change can redraw them. */
export class ChartsRow {
  readonly root = document.createElement('div');
  private readonly distribution: DistributionChart;
  private readonly progress: ProgressChart;
  private readonly distributionLegend: HTMLElement;
  private readonly progressLegend: HTMLElement;
  private lastDistribution: DistributionInput | null = null;
  private lastProgress: ProgressInput | null = null;

  constructor(private readonly palette: () => Palette) {
    this.root.className = 'charts';
    const figure = (cls: string, title: string, note: string) => {
      const fig = document.createElement('figure');
      fig.className = 'chart-card';
      const cap = document.createElement('figcaption');
      const strong = document.createElement('span');
      strong.className = 'chart-title';
      strong.textContent = title;
      const small = document.createElement('span');
      small.className = 'chart-note';
      small.textContent = note;
      cap.append(strong, small);
      const box = document.createElement('div');
      box.className = 'chart-box';
      const canvas = document.createElement('canvas');
      canvas.className = cls;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', title);
      box.append(canvas);
      const legend = document.createElement('ul');
      legend.className = 'chart-legend';
      legend.setAttribute('aria-hidden', 'true');
      fig.append(cap, box, legend);
      this.root.append(fig);
      return { canvas, legend };
    };
    const d = figure('chart-distribution', 'Dev scores of this iteration', 'scored, not vetoed; 20 bins');
    const p = figure('chart-progress', 'Progress across iterations', 'best so far with its 95% interval');
    this.distribution = new DistributionChart(d.canvas);
    this.progress = new ProgressChart(p.canvas);
    this.distributionLegend = d.legend;
    this.progressLegend = p.legend;
  }

  private static legend(ul: HTMLElement, items: LegendItem[]): void {
    const key = items.map((i) => `${i.swatch}:${i.text}`).join('|');
    if (ul.dataset.key === key) return;
    ul.dataset.key = key;
    ul.replaceChildren(
      ...items.map((i) => {
        const li = document.createElement('li');
        const sw = document.createElement('span');
        sw.className = `swatch swatch-${i.swatch}`;
        li.append(sw, i.text);
        return li;
      }),
    );
  }

  renderDistribution(d: DistributionInput): void {
    this.lastDistribution = d;
    this.distribution.render(d, this.palette());
    const items: LegendItem[] = [
      { swatch: 'bar-blue', text: `algorithms (${d.scores.length})` },
      { swatch: 'bar-orange', text: `random-program control (${d.control.length})` },
    ];
    items.push(...referenceLegend(d));
    if (d.controlBest !== null) items.push({ swatch: 'dot-orange', text: 'control best' });
    ChartsRow.legend(this.distributionLegend, items);
  }

  renderProgress(d: ProgressInput): void {
    this.lastProgress = d;
    this.progress.render(d, this.palette());
    const items: LegendItem[] = [
      { swatch: 'band-blue', text: '95% interval' },
      { swatch: 'line-blue', text: 'best so far' },
      { swatch: 'line-orange', text: 'iteration best' },
      { swatch: 'dash-green', text: 'iteration mean' },
      ...referenceLegend(d),
    ];
    ChartsRow.legend(this.progressLegend, items);
  }

  rerender(): void {
    const p = this.palette();
    if (this.lastDistribution) this.distribution.render(this.lastDistribution, p);
    if (this.lastProgress) this.progress.render(this.lastProgress, p);
  }
}
