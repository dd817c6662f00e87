// The report as a list of blocks (headings, paragraphs, tables, figures, code), rendered to
// Markdown and to a self-contained HTML page from the same blocks, so the two always agree.
import * as path from 'node:path';
import { pct, pctInterval } from '../../core/format';
import { temperatureAt } from '../../core/schedule';
import type { ReportData } from './reportData';

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'table'; id: string; caption?: string; head: string[]; rows: string[][] }
  | { kind: 'figure'; name: string; title: string; caption: string }
  | { kind: 'code'; language: string; text: string };

const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pp`;
const pValue = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));
const base = (p: string) => path.basename(p);
/** A sealed entry's dev as the summary holds it ("dev 0.500") -> "50.0%". */
const devOf = (dev: string | null) => {
  const m = dev && /^dev (-?\d+(?:\.\d+)?)$/.exec(dev);
  return m ? pct(Number(m[1])) : (dev ?? '-');
};

/** The methods paragraph, from the run's config: models, splits, budgets, temperatures, pair rule, refinement, seeds. */
export function methodsText(d: ReportData): string {
  const c = d.header.config;
  const benches = Object.entries(c.benchmarks).map(([name, b]) => `${name} (${b.answer === 'gsm8k' ? 'GSM8k-style answers' : 'boxed answers'}; dev ${b.devSize ? `first ${b.devSize} items` : 'all items'} of ${base(b.dev)}${b.test ? `, sealed test ${base(b.test)}` : ''})`);
  const temps = d.summary.iterations.map((it) => temperatureAt(c.temperature, it.iteration).toFixed(2));
  const schedule = c.temperature.kind === 'inverse' ? `T_t = ${c.temperature.start} / (1 + ${c.temperature.decay}(t − 1))` : `T_t = max(${c.temperature.floor ?? 0}, ${c.temperature.start} − ${c.temperature.decay}(t − 1))`;
  const f = c.factory;
  const factory =
    f.kind === 'grammar'
      ? 'the built-in grammar factory (a probabilistic program grammar whose weights DPO refines)'
      : `an LLM factory (${f.generator.kind === 'engine' ? `the ${f.generator.model === 'seed' ? 'seed model itself' : `model ${base(f.generator.model)}`} run by the project's engine` : `model ${f.generator.model} served by an OpenAI-compatible server`}, top-p ${f.topP}, up to ${f.maxTokens} new tokens, ${f.examples ? `${f.examples} best earlier algorithms in the prompt` : "the paper's fixed one-shot prompt"})`;
  const p = c.pairs;
  const share = (x: number) => (x < 1 ? `${Math.round(100 * x)}%` : String(x));
  const pairRule = `the top ${share(p.chosenTop)} (chosen) and bottom ${share(p.rejectedBottom)} (rejected) of each iteration by dev score${p.elitism ? `, with the best ${p.elitism} of each earlier iteration among the chosen` : ''}${p.failedAsRejected ? ', failed algorithms counted as rejected' : ''}, at least ${p.minEach} of each where there are enough`;
  const refine =
    f.kind === 'grammar'
      ? `DPO on the grammar's weights (β ${c.refinement.beta}, learning rate ${c.refinement.learningRate}, ${c.refinement.steps} steps)`
      : f.refine.enabled
        ? `DPO with a LoRA adapter (TRL and PEFT; β ${f.refine.beta}, learning rate ${f.refine.learningRate}, ${f.refine.epochs} epoch(s), batch ${f.refine.batchSize}, LoRA rank ${f.refine.loraRank} and α ${f.refine.loraAlpha}, ${f.refine.lossType} loss, ${Math.round(100 * f.refine.heldOut)}% of the pairs held out to measure it)`
        : 'no refinement (pairs written only)';
  return [
    `The seed model ${base(c.seed)} was merged with the task vectors of ${c.candidates.length} candidate models (${c.candidates.map(base).join(', ')}) over the parameters matching \`${c.mergeScope}\`, the rest kept from the seed.`,
    `The algorithm factory was ${factory}. Each of ${d.summary.iterations.length} iterations (of ${c.iterations} planned) sampled ${c.algorithmsPerIteration} merging algorithms at temperature ${schedule} (${temps.join(', ')}); each ran in a kernel sandbox with ${c.tensorLibrary}, a ${c.limits.timeoutSeconds} s limit and ${c.limits.memoryMB} MB of memory.`,
    `Merged models were scored by greedy decoding on ${benches.join(' and ')}, with ${c.eval.shots}-shot prompts and up to ${c.eval.maxNewTokens} new tokens; GSM answers were read ${c.eval.gsmAnswer === 'strict' ? 'strictly (after ####)' : 'flexibly'}. The score is the mean accuracy over the benchmarks with a 95% stratified bootstrap interval.`,
    `Preference pairs were formed from ${pairRule}, and refined the factory by ${refine}.`,
    `${c.randomControl ? (f.kind === 'grammar' ? 'A random-program control sampled as many programs per iteration from the unrefined grammar at the same temperature. ' : 'The control sampled as many algorithms per iteration from the unrefined generator (version 0) with the same prompt and temperature, so the factory against the control measures what refinement changed. ') : ''}${c.baselines ? 'Baselines (task arithmetic, TIES, DARE and others) were tuned over their grids on dev. ' : ''}The top ${c.finalists} distinct algorithms by dev, the control's top ${c.finalists} and the references were scored once on the sealed test split. Random seed ${c.randomSeed}.`,
  ].join(' ');
}

export function reportBlocks(d: ReportData, figures: { name: string; title: string; caption: string }[]): Block[] {
  const s = d.summary;
  const h = d.header;
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: `Run ${h.id}: ${h.name}` },
    {
      kind: 'paragraph',
      text: `Made from commit ${d.commit} of branch selfdev/${h.id}${d.uncommittedChanges ? ' (the worktree had changes not committed yet)' : ''} on ${d.madeAt.slice(0, 10)} by Self-Developing ${d.version}. Every number below is read from the run's files.`,
    },
  ];
  const top = d.bestSoFar.at(-1);
  if (top) {
    const finalist = s.sealedTest?.finalists.find((f) => f.id === top.ref);
    blocks.push({
      kind: 'paragraph',
      text: `Best discovered algorithm: ${top.ref}, dev ${pct(top.score)} ${pctInterval(...top.interval)}${finalist?.test != null ? `, sealed test ${pct(finalist.test)}${finalist.interval ? ` ${pctInterval(...finalist.interval)}` : ''}` : ''}${
        [s.seed && `the seed ${pct(s.seed.score)}`, s.bestBaseline && `the best tuned baseline ${pct(s.bestBaseline.score)} (${s.bestBaseline.id})`, s.bestCandidate && `the best candidate model ${pct(s.bestCandidate.score)} (${s.bestCandidate.id})`]
          .filter(Boolean)
          .map((x, i) => `${i === 0 ? '; on dev, ' : ', '}${x}`)
          .join('') || ''
      }.`,
    });
  }
  blocks.push({ kind: 'heading', level: 2, text: 'Methods' }, { kind: 'paragraph', text: methodsText(d) });

  blocks.push({ kind: 'heading', level: 2, text: 'Progress' });
  for (const f of figures) blocks.push({ kind: 'figure', ...f });
  blocks.push({
    kind: 'table',
    id: 'iterations',
    caption: 'Per iteration (dev split; vetoed algorithms left out).',
    head: ['iteration', 'temperature', 'algorithms', 'scored', 'failed', 'mean', 'best', 'best 95% interval', 'best so far', 'control mean', 'control best'],
    rows: s.iterations.map((it) => {
      const sofar = d.bestSoFar.find((b) => b.iteration === it.iteration);
      return [
        String(it.iteration),
        Number.isFinite(it.temperature) ? it.temperature.toFixed(2) : '-',
        String(it.algorithms),
        String(it.ok),
        String(it.failed),
        pct(it.meanScore),
        it.best ? `${pct(it.best.score)} (${it.best.id})` : '-',
        it.best ? pctInterval(...it.best.interval) : '-',
        sofar ? `${pct(sofar.score)} (${sofar.ref})` : '-',
        pct(it.control.meanScore),
        it.control.best ? pct(it.control.best.score) : '-',
      ];
    }),
  });

  blocks.push({ kind: 'heading', level: 2, text: 'References' });
  blocks.push({
    kind: 'table',
    id: 'references',
    caption: 'The seed, each candidate model as it is, the best variant of each baseline method, and the random-program control (dev split).',
    head: ['reference', 'dev', '95% interval'],
    rows: [
      ...(s.seed ? [['seed', pct(s.seed.score), pctInterval(...s.seed.interval)]] : []),
      ...s.candidates.map((c) => [c.id, pct(c.score), pctInterval(...c.interval)]),
      ...d.baselineMethods.map((b) => [b.id, pct(b.score), pctInterval(...b.interval)]),
      ...(s.control.best ? [[`control best (${s.control.best.id})`, pct(s.control.best.score), pctInterval(...s.control.best.interval)]] : []),
      ...(s.control.meanScore !== null ? [[`control mean (${s.control.ok} of ${s.control.algorithms} programs scored)`, pct(s.control.meanScore), '']] : []),
    ],
  });

  blocks.push({ kind: 'heading', level: 2, text: 'Sealed test' });
  if (!s.sealedTest) {
    blocks.push({ kind: 'paragraph', text: 'The run is not finalized: nothing was scored on the sealed test split (selfdev finalize).' });
  } else {
    const st = s.sealedTest;
    blocks.push({
      kind: 'table',
      id: 'sealed',
      caption: `Scored once on the sealed test split: ${st.evaluations} evaluations.`,
      head: ['model', 'role', 'dev', 'test', '95% interval'],
      rows: [
        ...st.finalists.map((f) => [f.id, 'finalist', devOf(f.dev), pct(f.test), f.interval ? pctInterval(...f.interval) : '-']),
        ...st.control.map((f) => [f.id, 'control finalist', devOf(f.dev), pct(f.test), f.interval ? pctInterval(...f.interval) : '-']),
        ...st.references.map((f) => [f.id, 'reference', devOf(f.dev), pct(f.test), f.interval ? pctInterval(...f.interval) : '-']),
      ],
    });
    if (st.comparisons) {
      const c = st.comparisons;
      blocks.push({
        kind: 'table',
        id: 'comparisons',
        caption: `Paired comparisons on the sealed test split: ${c.count} comparisons; items: ${Object.entries(c.items).map(([b, n]) => `${b} ${n}`).join(', ')}; 95% paired bootstrap intervals, sign-flip p-values, Holm-adjusted over the ${c.count} comparisons.`,
        head: ['comparison', 'a', 'b', 'difference', '95% interval', 'p', 'Holm p', ...Object.keys(c.items)],
        rows: c.list.map((x) => [x.question, x.a, x.b, points(x.overall.difference), `${points(x.overall.low)} to ${points(x.overall.high)}`, pValue(x.overall.p), pValue(x.overall.pHolm), ...Object.keys(c.items).map((b) => (x.benchmarks[b] ? points(x.benchmarks[b].difference) : '-'))]),
      });
    }
  }

  if (s.lineage.length) {
    blocks.push({ kind: 'heading', level: 2, text: "The factory's lineage" });
    blocks.push({
      kind: 'table',
      id: 'lineage',
      caption: 'Which factory version wrote each iteration, and what refinement on its pairs made of it.',
      head: ['iteration', 'wrote', 'became', 'status', 'pairs used', 'loss first → last', 'reward accuracy', 'reward margin', 'held-out margin before → after'],
      rows: s.lineage.map((l) => [
        String(l.iteration),
        `v${l.wrote}`,
        l.status === 'refined' ? `v${l.version}` : l.status,
        l.reason ? `${l.status}: ${l.reason}` : l.status,
        `${l.pairsUsed} of ${l.pairs}`,
        l.loss ? `${l.loss[0]?.toFixed(3) ?? '-'} → ${l.loss[1]?.toFixed(3) ?? '-'}` : '-',
        l.rewardAccuracy !== null ? pct(l.rewardAccuracy) : '-',
        l.rewardMargin !== null ? l.rewardMargin.toFixed(3) : '-',
        l.heldOut ? `${l.heldOut.marginBefore.toFixed(2)} → ${l.heldOut.marginAfter.toFixed(2)} (${l.heldOut.pairs} pairs)` : '-',
      ]),
    });
  }

  if (s.transfer.length) {
    blocks.push({ kind: 'heading', level: 2, text: 'Transfer to other candidate sets' });
    const ids = [...new Set(s.transfer.flatMap((t) => t.algorithms.map((a) => a.id)))];
    blocks.push({
      kind: 'table',
      id: 'transfer',
      caption: 'Sealed test scores with other candidate models, against the baseline grid re-tuned on each set\'s dev split.',
      head: ['algorithm', ...s.transfer.map((t) => t.set)],
      rows: [
        ...ids.map((id) => [id, ...s.transfer.map((t) => pct(t.algorithms.find((a) => a.id === id)?.test))]),
        ['baselines re-tuned on the set', ...s.transfer.map((t) => (t.retuned ? `${pct(t.retuned.test)} (${t.retuned.id})` : '-'))],
      ],
    });
  }

  if (d.best.length) {
    blocks.push({ kind: 'heading', level: 2, text: 'The best algorithms' });
    for (const a of d.best) {
      blocks.push(
        { kind: 'heading', level: 3, text: `${a.ref}: dev ${pct(a.dev)} ${pctInterval(...a.interval)}${a.test !== null ? `, test ${pct(a.test)}` : ''}` },
        ...(a.summary ? [{ kind: 'paragraph' as const, text: a.summary }] : []),
        { kind: 'code', language: 'python', text: a.code.trimEnd() },
      );
    }
  }
  return blocks;
}

// Generated text (an LLM's docstring) must not become markup where a renderer allows inline HTML.
const mdText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const mdCell = (s: string) => mdText(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'heading') out.push(`${'#'.repeat(b.level)} ${mdText(b.text)}`, '');
    else if (b.kind === 'paragraph') out.push(mdText(b.text), '');
    else if (b.kind === 'figure') out.push(`![${mdText(b.title)}](figures/${b.name}.svg)`, '', `*${mdText(b.title)}.* ${mdText(b.caption)} (PNG: [figures/${b.name}.png](figures/${b.name}.png))`, '');
    else if (b.kind === 'code') {
      const fence = b.text.includes('```') ? '~~~~' : '```';
      out.push(`${fence}${b.language}`, b.text, fence, '');
    } else {
      if (b.caption) out.push(`*${mdText(b.caption)}*`, '');
      out.push(`| ${b.head.map(mdCell).join(' | ')} |`, `| ${b.head.map(() => '---').join(' | ')} |`, ...b.rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`), '');
    }
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A page with no script and a CSP that allows none: the figures are inline SVG. */
export function toHtml(blocks: Block[], title: string, svgs: Record<string, string>): string {
  const body: string[] = [];
  for (const b of blocks) {
    if (b.kind === 'heading') body.push(`<h${b.level}>${esc(b.text)}</h${b.level}>`);
    else if (b.kind === 'paragraph') body.push(`<p>${esc(b.text)}</p>`);
    else if (b.kind === 'code') body.push(`<pre><code class="language-${esc(b.language)}">${esc(b.text)}</code></pre>`);
    else if (b.kind === 'figure') {
      body.push(`<figure id="figure-${esc(b.name)}" role="img" aria-label="${esc(b.title)}">${svgs[b.name] ?? ''}<figcaption><strong>${esc(b.title)}.</strong> ${esc(b.caption)}</figcaption></figure>`);
    } else {
      body.push(
        `<table id="table-${esc(b.id)}">${b.caption ? `<caption>${esc(b.caption)}</caption>` : ''}<thead><tr>${b.head.map((x) => `<th>${esc(x)}</th>`).join('')}</tr></thead><tbody>${b.rows.map((r) => `<tr>${r.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`).join('')}</tbody></table>`,
      );
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f1f1f; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0 1.5rem; font-size: 0.9rem; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1rem 0 1.5rem; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
