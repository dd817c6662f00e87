// The results panel: wires the host's messages (src/protocol/webviewMessages.ts) to the views.
// Flow: post `ready` -> `runs` -> selectRun -> `overview` -> selectIteration -> `iteration`;
// detail and pair requests carry ids, and only the latest answer per view is shown.
import './cspNonce';
import type { AlgorithmDetail, FromWebview, IterationData, PairDetail, RunListEntry, RunOverview, ToWebview, WebviewCommand } from '../../src/protocol/webviewMessages';
import { AlgorithmTable } from './algorithmTable';
import { ChartsRow } from './charts';
import { ComparisonsView, refinementText, TransferView } from './comparisons';
import { LineageView } from './lineage';
import { DetailPane } from './detail';
import { badge, el, loadingNote } from './dom';
import { emptyState, Header } from './header';
import { PairsView } from './pairs';
import { createSession, nextRequestId, saveView } from './state';
import { Stepper } from './stepper';
import { onThemeChange, readPalette, type Palette } from './theme';
import { registerToolkit } from './toolkit';
import { vscode, type Tab } from './vscodeApi';

registerToolkit();

const session = createSession();
const view = session.view;
const post = (m: FromWebview) => vscode.postMessage(m);
const save = () => saveView(session);

// ---- views

const header = new Header({
  pickRun: (runId) => selectRun(runId),
  command: (command) => runCommand(command),
});
const banner = el('div', { cls: 'error-banner', attrs: { role: 'alert' } });
banner.hidden = true;
const empty = emptyState((c) => runCommand(c));
empty.hidden = true;
const loading = loadingNote('Loading runs…', 'loading');

const stepper = new Stepper((it) => selectIteration(it, 'step'));
// Theme colors are read once per theme, not per render (getComputedStyle forces a style pass).
let palette: Palette | null = null;
const charts = new ChartsRow(() => (palette ??= readPalette()));
// In a narrow panel the detail and the pair sit below their lists: a clicked choice is brought
// into view once its detail arrives (arrow keys stay in the list).
let reveal: 'detail' | 'pair' | undefined;
function revealNow(node: HTMLElement): void {
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  node.scrollIntoView({ block: 'nearest', behavior: smooth ? 'smooth' : 'auto' });
}
const table = new AlgorithmTable(view, {
  select: (id, how) => {
    view.selectedId = id;
    save();
    reveal = how === 'pointer' ? 'detail' : undefined;
    requestDetail(id);
  },
  open: (id) => openAlgorithm(id),
  viewChanged: () => {
    view.tableScrollTop = table.scrollTop;
    save();
  },
});
const detail = new DetailPane({
  open: (id) => openAlgorithm(id),
  veto: (id, undo) => {
    if (view.runId && view.iteration !== undefined) post({ t: 'veto', runId: view.runId, iteration: view.iteration, id, undo });
  },
  exportModel: (id) => {
    if (view.runId && view.iteration !== undefined) post({ t: 'exportModel', runId: view.runId, iteration: view.iteration, id });
  },
});
const pairs = new PairsView({
  select: (index, how) => {
    view.selectedPair = index;
    save();
    reveal = how === 'pointer' ? 'pair' : undefined;
    requestPair(index);
  },
  veto: (index, undo) => {
    if (view.runId && view.iteration !== undefined) post({ t: 'vetoPair', runId: view.runId, iteration: view.iteration, index, undo });
  },
  openRef: (ref) => {
    // Pair refs are `iteration/id` (elitism pairs can point at earlier iterations).
    const m = /^(\d+)\/(.+)$/.exec(ref);
    if (m) openAlgorithm(m[2], Number(m[1]));
    else openAlgorithm(ref);
  },
});

// Tabs are plain buttons: the table must keep its size and scroll position when hidden and
// shown again, which is simplest with elements this code controls.
const tabButtons = new Map<Tab, HTMLButtonElement>();
const tabViews = new Map<Tab, HTMLElement>();
const tabCounts = new Map<Tab, HTMLElement>();
const tabBar = el('div', { cls: 'tabs', attrs: { role: 'tablist', 'aria-label': 'Results' } });
for (const [tab, label] of [
  ['algorithms', 'Algorithms'],
  ['pairs', 'Preference Pairs'],
] as const) {
  const count = badge('', 'tab-count');
  const b = el('button', { cls: 'tab', attrs: { type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-controls': `view-${tab}` }, data: { tab } }, el('span', { text: label }), count);
  b.addEventListener('click', () => setTab(tab));
  tabButtons.set(tab, b);
  tabCounts.set(tab, count);
  tabBar.append(b);
}
tabViews.set(
  'algorithms',
  el('div', { cls: 'tab-view', attrs: { role: 'tabpanel', id: 'view-algorithms', 'aria-labelledby': 'tab-algorithms' } }, el('div', { cls: 'algo-layout' }, table.root, detail.root)),
);
tabViews.set('pairs', el('div', { cls: 'tab-view', attrs: { role: 'tabpanel', id: 'view-pairs', 'aria-labelledby': 'tab-pairs' } }, pairs.root));

const comparisons = new ComparisonsView();
const transferView = new TransferView();
const refinementNote = el('p', { cls: 'refinement-note' });
const lineage = new LineageView();
const runView = el('div', { cls: 'run-view' }, stepper.root, charts.root, refinementNote, lineage.root, comparisons.root, transferView.root, tabBar, ...tabViews.values());
runView.hidden = true;

const app = document.getElementById('app') ?? document.body.appendChild(el('main', { attrs: { id: 'app' } }));
app.replaceChildren(header.root, banner, loading, empty, runView);
header.setVisible(false);
setTab(view.tab, false);

// ---- actions

function runCommand(command: WebviewCommand): void {
  const needsRun = command === 'selfdev.runNextIteration' || command === 'selfdev.stop' || command === 'selfdev.continueRun' || command === 'selfdev.exportReport';
  post(needsRun && view.runId ? { t: 'command', command, runId: view.runId } : { t: 'command', command });
}

function openAlgorithm(id: string, iteration = view.iteration): void {
  if (view.runId && iteration !== undefined) post({ t: 'openAlgorithm', runId: view.runId, iteration, id });
}

function setTab(tab: Tab, persist = true): void {
  view.tab = tab;
  for (const [t, b] of tabButtons) {
    b.setAttribute('aria-selected', String(t === tab));
    b.tabIndex = t === tab ? 0 : -1;
    b.classList.toggle('active', t === tab);
  }
  for (const [t, v] of tabViews) v.hidden = t !== tab;
  pairs.setVisible(tab === 'pairs');
  if (persist) save();
}

function clearIterationViews(): void {
  detail.clear();
  pairs.clearDetail();
}

function selectRun(runId: string): void {
  if (runId !== view.runId) {
    view.runId = runId;
    view.iteration = undefined;
    view.selectedId = undefined;
    view.selectedPair = undefined;
    session.overview = null;
    session.data = null;
    session.scrollOnArrival = 'top';
    clearIterationViews();
  }
  header.setCurrent(runId);
  header.setLive(session.live, session.runs, view.runId);
  save();
  runView.classList.add('is-loading');
  post({ t: 'selectRun', runId });
}

/** 'step': another iteration (selection and scroll start over); 'refresh': the same one re-read. */
function selectIteration(iteration: number, mode: 'step' | 'refresh'): void {
  if (!view.runId) return;
  if (mode === 'step' && iteration !== view.iteration) {
    view.selectedId = undefined;
    view.selectedPair = undefined;
    session.scrollOnArrival = 'top';
    table.setSelected(undefined);
    clearIterationViews();
  }
  view.iteration = iteration;
  stepper.set(session.overview, iteration);
  save();
  runView.classList.add('is-loading');
  post({ t: 'selectIteration', runId: view.runId, iteration });
}

function requestDetail(id: string): void {
  if (!view.runId || view.iteration === undefined) return;
  const requestId = nextRequestId();
  session.detailRequest = requestId;
  const row = table.rowById(id);
  // A refresh of the shown algorithm keeps its content until the new one arrives (no flicker).
  if (row && detail.root.dataset.id !== id) detail.loading(row);
  post({ t: 'requestDetail', requestId, runId: view.runId, iteration: view.iteration, id });
}

function requestPair(index: number): void {
  if (!view.runId || view.iteration === undefined) return;
  const requestId = nextRequestId();
  session.pairRequest = requestId;
  if (pairs.root.querySelector<HTMLElement>('.pair-detail')?.dataset.index !== String(index)) pairs.loading(index);
  post({ t: 'requestPair', requestId, runId: view.runId, iteration: view.iteration, index });
}

function showError(message: string): void {
  banner.replaceChildren(
    el('span', { cls: 'error-text', text: message }),
    el('button', { cls: 'icon-button', text: '×', attrs: { type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss' } }),
  );
  banner.querySelector('button')!.addEventListener('click', () => (banner.hidden = true));
  banner.hidden = false;
}

// ---- host messages

function onRuns(runs: RunListEntry[]): void {
  session.runs = runs;
  loading.remove();
  const focus = session.pendingFocus && runs.some((r) => r.id === session.pendingFocus!.runId) ? session.pendingFocus : null;
  if (!focus) session.pendingFocus = null;
  const target = focus?.runId ?? (runs.some((r) => r.id === view.runId) ? view.runId : runs[0]?.id);
  header.setRuns(runs, target);
  header.setVisible(runs.length > 0);
  empty.hidden = runs.length > 0;
  runView.hidden = runs.length === 0;
  if (!target) {
    header.setOverview(null);
    header.setLive(session.live, runs, undefined);
    return;
  }
  const listed = runs.find((r) => r.id === target)!;
  const known = session.overview?.runId === target ? session.overview.iterations.map((i) => i.iteration).join() : null;
  // Ask again only when needed: another run, or this run's iterations changed.
  if (target !== view.runId || known === null || known !== listed.iterations.join()) selectRun(target);
  header.setLive(session.live, runs, view.runId);
}

function onOverview(ov: RunOverview): void {
  if (ov.runId !== view.runId) return; // an answer for a run no longer selected
  session.overview = ov;
  header.setOverview(ov);
  const its = ov.iterations.map((i) => i.iteration);
  const focus = session.pendingFocus?.runId === ov.runId ? session.pendingFocus.iteration : undefined;
  session.pendingFocus = null;
  let target = focus !== undefined && its.includes(focus) ? focus : view.iteration;
  if (target === undefined || !its.includes(target)) target = its.at(-1);
  renderProgress(target);
  if (target === undefined) {
    // A run with no iteration yet: empty views, nothing more to ask.
    view.iteration = undefined;
    stepper.set(ov, undefined);
    table.setRows([], 'top');
    charts.renderDistribution({ iteration: 0, scores: [], control: [], seed: ov.seed?.score ?? null, bestBaseline: ov.bestBaseline?.score ?? null, bestCandidate: ov.bestCandidate?.score ?? null, controlBest: null });
    pairs.setPairs([], undefined);
    setCounts(0, 0);
    clearIterationViews();
    runView.classList.remove('is-loading');
    save();
    return;
  }
  selectIteration(target, target === view.iteration ? 'refresh' : 'step');
}

function renderProgress(shown: number | undefined): void {
  const ov = session.overview;
  if (!ov) return;
  charts.renderProgress({ iterations: ov.iterations, seed: ov.seed?.score ?? null, bestBaseline: ov.bestBaseline?.score ?? null, bestCandidate: ov.bestCandidate?.score ?? null, shown });
  lineage.render(ov.lineage ?? [], shown);
  comparisons.render(ov.comparisons);
  transferView.render(ov.transfer);
}

function setCounts(algorithms: number, pairCount: number): void {
  tabCounts.get('algorithms')!.textContent = String(algorithms);
  tabCounts.get('pairs')!.textContent = String(pairCount);
}

function onIteration(data: IterationData): void {
  if (data.runId !== view.runId || data.iteration !== view.iteration) return; // stale
  session.data = data;
  const arrival = session.scrollOnArrival;
  session.scrollOnArrival = 'keep';
  if (view.selectedId !== undefined && !data.algorithms.some((r) => r.id === view.selectedId)) view.selectedId = undefined;
  if (view.selectedPair !== undefined && !data.pairs.some((p) => p.index === view.selectedPair)) view.selectedPair = undefined;

  table.setSelected(view.selectedId);
  table.setRows(data.algorithms, arrival === 'restore' ? view.tableScrollTop : arrival);
  const scores: number[] = [];
  for (const r of data.algorithms) if (r.status === 'ok' && !r.vetoed && typeof r.score === 'number') scores.push(r.score);
  let controlBest: number | null = null;
  for (const s of data.controlScores) if (controlBest === null || s > controlBest) controlBest = s;
  controlBest ??= session.overview?.control.best?.score ?? null;
  charts.renderDistribution({ iteration: data.iteration, scores, control: data.controlScores, seed: data.seed, bestBaseline: data.bestBaseline, bestCandidate: data.bestCandidate, controlBest });
  refinementNote.textContent = refinementText(data.refinement, data.controlLabel);
  refinementNote.hidden = !data.refinement;
  renderProgress(data.iteration);
  pairs.setPairs(data.pairs, view.selectedPair);
  setCounts(data.algorithms.length, data.pairs.length);
  runView.classList.remove('is-loading');
  view.tableScrollTop = table.scrollTop;
  save();

  // Tests and the benchmark wait for this: table and charts are drawn.
  performance.mark('selfdev:iteration-rendered');
  document.body.dataset.renderedIteration = String(data.iteration);

  if (view.selectedId !== undefined) requestDetail(view.selectedId);
  else detail.clear();
  if (view.selectedPair !== undefined) requestPair(view.selectedPair);
}

function onDetail(requestId: number, d: AlgorithmDetail): void {
  if (requestId !== session.detailRequest || d.id !== view.selectedId) return;
  detail.show(d);
  if (reveal === 'detail') revealNow(detail.root);
  reveal = undefined;
}

function onPair(requestId: number, p: PairDetail): void {
  if (requestId !== session.pairRequest || p.index !== view.selectedPair) return;
  pairs.show(p);
  if (reveal === 'pair') revealNow(pairs.detailRoot);
  reveal = undefined;
}

function onFocus(runId: string, iteration: number | undefined): void {
  if (!session.runs || !session.runs.some((r) => r.id === runId)) {
    // Not listed yet (a run just created): ask for the list, apply the focus when it comes.
    session.pendingFocus = { runId, iteration };
    if (session.runs) post({ t: 'refresh' });
    return;
  }
  if (runId === view.runId && !session.overview) {
    // Its overview is on the way (the host sends `focus` right after `runs`): apply it then.
    session.pendingFocus = { runId, iteration };
    return;
  }
  if (runId === view.runId && session.overview) {
    if (iteration !== undefined && iteration !== view.iteration && session.overview.iterations.some((i) => i.iteration === iteration)) selectIteration(iteration, 'step');
    else if (iteration !== undefined && !session.overview.iterations.some((i) => i.iteration === iteration)) {
      session.pendingFocus = { runId, iteration };
      post({ t: 'selectRun', runId });
    }
    return;
  }
  session.pendingFocus = { runId, iteration };
  selectRun(runId);
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  if (typeof msg !== 'object' || msg === null) return;
  try {
    switch (msg.t) {
      case 'runs':
        onRuns(msg.runs);
        break;
      case 'overview':
        onOverview(msg.overview);
        break;
      case 'iteration':
        onIteration(msg.data);
        break;
      case 'detail':
        onDetail(msg.requestId, msg.detail);
        break;
      case 'pair':
        onPair(msg.requestId, msg.pair);
        break;
      case 'live':
        session.live = msg.status;
        header.setLive(msg.status, session.runs, view.runId);
        break;
      case 'changed':
        // Files of the shown run changed: re-read the overview; the iteration follows it.
        if (msg.runId === view.runId) post({ t: 'selectRun', runId: msg.runId });
        break;
      case 'focus':
        onFocus(msg.runId, msg.iteration);
        break;
      case 'error':
        if (msg.action === 'vetoPair') pairs.actionFailed(msg.message);
        else if (msg.requestId === undefined) {
          runView.classList.remove('is-loading');
          showError(msg.message);
        } else if (msg.requestId === session.detailRequest) detail.error(msg.message);
        else if (msg.requestId === session.pairRequest) pairs.error(msg.message);
        break;
    }
  } catch (err) {
    // A malformed message must not take the panel down.
    showError(`The panel could not show a message from the extension: ${(err as Error).message}`);
  }
});

onThemeChange(() => {
  palette = null;
  charts.rerender();
});
post({ t: 'ready' });
