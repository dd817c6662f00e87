// Preference pairs from one iteration's scored algorithms: chosen = the top share by dev score,
// rejected = the bottom share (paper: top 3%, bottom 10%), every chosen paired with every
// rejected. Elitism keeps the best algorithms of earlier iterations among the chosen.

export interface Scored {
  id: string;
  /** Dev score; undefined for failed algorithms. */
  score?: number;
  vetoed?: boolean;
  /** Iteration the algorithm was generated in. */
  iteration: number;
}

export interface PairPolicy {
  chosenTop: number;
  rejectedBottom: number;
  /** The best N of each earlier iteration join the chosen. */
  elitism: number;
  /** Failed algorithms (no score) count as rejected. */
  failedAsRejected: boolean;
  /** At least this many chosen and rejected when there are enough scored algorithms. */
  minEach: number;
}

export const DEFAULT_PAIR_POLICY: PairPolicy = { chosenTop: 0.03, rejectedBottom: 0.1, elitism: 3, failedAsRejected: false, minEach: 1 };

export interface Pair {
  chosen: string;
  rejected: string;
  chosenScore: number;
  rejectedScore: number | null;
  why: string;
}

const SCORE_EPSILON = 1e-9;

const byScoreDesc = (a: Scored, b: Scored) => (b.score ?? -Infinity) - (a.score ?? -Infinity) || a.id.localeCompare(b.id);

/**
 * Pairs for refinement after iteration `current`. Ties are broken by id so the result is
 * deterministic. Vetoed algorithms never take part.
 */
export function selectPairs(all: readonly Scored[], current: number, policy: PairPolicy = DEFAULT_PAIR_POLICY): Pair[] {
  const usable = all.filter((a) => !a.vetoed);
  const now = usable.filter((a) => a.iteration === current);
  const scored = now.filter((a) => a.score !== undefined).sort(byScoreDesc);
  if (scored.length < 2) return [];
  const count = (share: number) => Math.min(scored.length - 1, Math.max(policy.minEach, Math.round(share * scored.length)));
  const chosen = scored.slice(0, count(policy.chosenTop));
  let rejected = scored.slice(scored.length - count(policy.rejectedBottom));
  if (policy.failedAsRejected) rejected = [...rejected, ...now.filter((a) => a.score === undefined).sort((a, b) => a.id.localeCompare(b.id))];

  const elite: Scored[] = [];
  for (let t = 1; t < current; t++) {
    elite.push(...usable.filter((a) => a.iteration === t && a.score !== undefined).sort(byScoreDesc).slice(0, policy.elitism));
  }
  const rejectedIds = new Set(rejected.map((r) => r.id));
  const pairs: Pair[] = [];
  const seen = new Set<string>();
  for (const [c, origin] of [...chosen.map((c) => [c, 'top'] as const), ...elite.map((c) => [c, 'elite'] as const)]) {
    if (rejectedIds.has(c.id)) continue;
    for (const r of rejected) {
      // A chosen must beat its rejected; equal scores carry no preference. Scores are means of
      // per-benchmark accuracies, so equal ones can differ in the last bits: compare with a margin
      // far below one item of any benchmark.
      if (r.score !== undefined && r.score >= c.score! - SCORE_EPSILON) continue;
      const key = `${c.id}>${r.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push({
        chosen: c.id,
        rejected: r.id,
        chosenScore: c.score!,
        rejectedScore: r.score ?? null,
        why: `${origin === 'top' ? `top ${Math.round(policy.chosenTop * 100)}% of iteration ${current}` : `elite of iteration ${c.iteration}`} over ${
          r.score === undefined ? 'a failed algorithm' : `bottom ${Math.round(policy.rejectedBottom * 100)}%`
        }`,
      });
    }
  }
  return pairs;
}
