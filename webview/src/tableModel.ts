// Sorting and filtering of algorithm rows, kept free of the DOM (the table only renders the result).
import type { AlgorithmRow } from '../../src/protocol/webviewMessages';

export const SORT_KEYS = ['id', 'status', 'score', 'interval', 'errorClass', 'factoryVersion', 'temperature', 'summary'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export const STATUS_FILTERS = ['all', 'ok', 'failed', 'pending', 'vetoed', 'edited'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/** The natural first direction of a column: best scores first, names alphabetically. */
export function defaultDir(key: SortKey): SortDir {
  return key === 'score' || key === 'interval' ? 'desc' : 'asc';
}

const STATUS_RANK = { ok: 0, pending: 1, failed: 2 } as const;

function sortValue(row: AlgorithmRow, key: SortKey): number | string | undefined {
  switch (key) {
    case 'id':
      return row.id;
    case 'status':
      // Vetoed rows after the live ones of the same status.
      return STATUS_RANK[row.status] * 2 + (row.vetoed ? 1 : 0);
    case 'score':
      return row.score;
    case 'interval':
      return row.interval ? row.interval[0] : undefined;
    case 'errorClass':
      return row.errorClass?.toLowerCase();
    case 'factoryVersion':
      return row.factoryVersion;
    case 'temperature':
      return row.temperature;
    case 'summary':
      return row.summary?.toLowerCase();
  }
}

export function matchesStatus(row: AlgorithmRow, f: StatusFilter): boolean {
  switch (f) {
    case 'all':
      return true;
    case 'vetoed':
      return row.vetoed;
    case 'edited':
      return row.edited;
    default:
      return row.status === f;
  }
}

export function matchesText(row: AlgorithmRow, needle: string): boolean {
  if (!needle) return true;
  return (
    row.id.toLowerCase().includes(needle) ||
    (row.summary?.toLowerCase().includes(needle) ?? false) ||
    (row.errorClass?.toLowerCase().includes(needle) ?? false)
  );
}

export interface ViewOptions {
  sortKey: SortKey;
  sortDir: SortDir;
  filter: string;
  statusFilter: StatusFilter;
}

/** Rows to show, filtered and sorted; missing values sort last either way, ties by id. */
export function viewRows(rows: readonly AlgorithmRow[], o: ViewOptions): AlgorithmRow[] {
  const needle = o.filter.trim().toLowerCase();
  // Keys computed once per row: sorting 3000 rows stays well under a millisecond or two.
  const keyed: { row: AlgorithmRow; key: number | string | undefined }[] = [];
  for (const row of rows) if (matchesStatus(row, o.statusFilter) && matchesText(row, needle)) keyed.push({ row, key: sortValue(row, o.sortKey) });
  const sign = o.sortDir === 'asc' ? 1 : -1;
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) {
      if (a.key !== b.key) return a.key === undefined ? 1 : -1;
    } else if (a.key !== b.key) {
      return (a.key < b.key ? -1 : 1) * sign;
    }
    return a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0;
  });
  return keyed.map((k) => k.row);
}
