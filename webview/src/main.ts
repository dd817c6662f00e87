import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { RunListEntry, ToWebview } from '../../src/protocol/webviewMessages';
import { vscode } from './vscodeApi';

// Toolkit components are used as plain custom elements so a later switch of library stays small.
provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeBadge(), vsCodeProgressRing());

const app = document.getElementById('app') as HTMLElement;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function button(label: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'primary'): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', appearance);
  b.addEventListener('click', onClick);
  return b;
}

function renderRuns(runs: RunListEntry[]): void {
  app.replaceChildren();
  app.append(el('h1', 'Self-Developing runs'));
  if (runs.length === 0) {
    app.append(
      el('p', 'No runs yet. The demo world runs the whole loop on this machine in minutes, with no GPU and no download.'),
      button('Start the Demo Run', () => vscode.postMessage({ t: 'command', command: 'selfdev.startDemo' })),
      button('New Run from Config…', () => vscode.postMessage({ t: 'command', command: 'selfdev.newRun' }), 'secondary'),
    );
    return;
  }
  const list = el('ul', undefined, 'runs');
  for (const run of runs) {
    const item = el('li', undefined, 'run');
    item.dataset.runId = run.id;
    const badge = document.createElement('vscode-badge');
    badge.textContent = String(run.iterations.length);
    badge.title = 'iterations';
    item.append(el('span', run.name, 'run-name'), badge);
    if (run.problem) item.append(el('div', run.problem, 'problem'));
    list.append(item);
  }
  app.append(list, button('Refresh', () => vscode.postMessage({ t: 'refresh' }), 'secondary'));
}

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  switch (msg.t) {
    case 'runs':
      renderRuns(msg.runs);
      window.scrollTo(0, vscode.getState()?.scrollY ?? 0);
      break;
    case 'error':
      app.replaceChildren(el('p', msg.message, 'problem'));
      break;
  }
});

window.addEventListener('scroll', () => vscode.setState({ scrollY: window.scrollY }), { passive: true });

app.append(document.createElement('vscode-progress-ring'));
vscode.postMessage({ t: 'ready' });
