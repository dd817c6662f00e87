// The panel's state: what is saved across hide/show (PanelState, through vscode.setState) and
// what lives only as long as the page (the host's latest answers and the request bookkeeping).
import type { IterationData, LiveStatus, RunListEntry, RunOverview } from '../../src/protocol/webviewMessages';
import { SORT_KEYS, STATUS_FILTERS, type SortKey, type StatusFilter } from './tableModel';
import { vscode, type PanelState } from './vscodeApi';

export interface Session {
  /** Saved on every change. */
  view: PanelState;
  runs: RunListEntry[] | null;
  overview: RunOverview | null;
  data: IterationData | null;
  live: LiveStatus | null;
  /** A `focus` that arrived before the run list (or for a run not listed yet). */
  pendingFocus: { runId: string; iteration?: number } | null;
  /** How the table's scroll position is set when the requested iteration arrives. */
  scrollOnArrival: 'restore' | 'keep' | 'top';
  /** Latest request ids per view: answers for older ones are stale and dropped. */
  detailRequest: number;
  pairRequest: number;
}

let lastRequestId = 0;
export const nextRequestId = (): number => ++lastRequestId;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** Saved state from an earlier page (possibly an older version's shape): each field checked. */
export function restoreView(saved: unknown): PanelState {
  const s = isObject(saved) ? saved : {};
  return {
    runId: str(s.runId),
    iteration: int(s.iteration),
    sortKey: (SORT_KEYS as readonly string[]).includes(s.sortKey as string) ? (s.sortKey as SortKey) : 'score',
    sortDir: s.sortDir === 'asc' || s.sortDir === 'desc' ? s.sortDir : 'desc',
    filter: typeof s.filter === 'string' ? s.filter : '',
    statusFilter: (STATUS_FILTERS as readonly string[]).includes(s.statusFilter as string) ? (s.statusFilter as StatusFilter) : 'all',
    selectedId: str(s.selectedId),
    selectedPair: int(s.selectedPair),
    tab: s.tab === 'pairs' ? 'pairs' : 'algorithms',
    tableScrollTop: typeof s.tableScrollTop === 'number' && s.tableScrollTop >= 0 ? s.tableScrollTop : 0,
  };
}

export function createSession(): Session {
  return {
    view: restoreView(vscode.getState()),
    runs: null,
    overview: null,
    data: null,
    live: null,
    pendingFocus: null,
    scrollOnArrival: 'restore',
    detailRequest: 0,
    pairRequest: 0,
  };
}

export function saveView(s: Session): void {
  vscode.setState({ ...s.view });
}
