// From an LLM's completion to the algorithm it wrote: the code of the fenced block that defines
// `merge` (else the first fenced block), or, without fences, the bare code around `def merge`.
// What is extracted is then checked by the runner's contract check like any algorithm (a wrong
// function name is its `missing_function`, broken code its `syntax`); only a completion with no
// code at all fails here, as `no_code`. The steps taken are recorded, so a person can see how the
// file came out of the completion.

export type Extraction =
  | {
      ok: true;
      code: string;
      /** fenced: from a ``` block; bare: code lines around `def merge` in prose. */
      from: 'fenced' | 'bare';
      /** Fenced blocks in the completion, and which one (0-based) was taken. */
      blocks: number;
      chosen: number;
      /** The block's closing fence was missing: the completion stopped inside it. */
      truncated: boolean;
      definesMerge: boolean;
      /** Tabs became four spaces, Windows line ends became \n. */
      normalised: boolean;
    }
  | { ok: false; failure: 'no_code'; detail: string };

const FENCE = /^\s*(```|~~~)\s*([A-Za-z0-9_+-]*)\s*$/;
const DEFINES_MERGE = /^(async\s+)?def\s+merge\s*\(/m;
// A top-level line that Python would accept as the start of a statement of a merge module.
const CODE_START = /^(def |async def |class |import |from \S+ import |@|[A-Za-z_][A-Za-z0-9_]*\s*(=|:|\+=|-=|\*=)|#|if |for |while |try:|with |return\b|"""|''')/;

interface Block {
  lang: string;
  lines: string[];
  closed: boolean;
}

function fencedBlocks(lines: string[]): Block[] {
  const out: Block[] = [];
  let open: Block | null = null;
  let fence = '';
  for (const line of lines) {
    const m = FENCE.exec(line);
    if (open) {
      if (m && m[1] === fence && !m[2]) {
        open.closed = true;
        out.push(open);
        open = null;
      } else open.lines.push(line);
    } else if (m) {
      open = { lang: m[2].toLowerCase(), lines: [], closed: false };
      fence = m[1];
    }
  }
  if (open) out.push(open);
  return out;
}

/** Bare code: from the first line that starts a statement, through the indented bodies and the
 * top-level statements that follow, until prose resumes. */
function bareCode(lines: string[]): string[] {
  const start = lines.findIndex((l) => CODE_START.test(l) && !/^#\s/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '' || /^[ \t]/.test(l) || CODE_START.test(l) || /^[)\]}]/.test(l)) out.push(l);
    else break;
  }
  while (out.length && out[out.length - 1].trim() === '') out.pop();
  return out;
}

const usable = (lang: string) => ['', 'python', 'py', 'python3'].includes(lang);

export function extractAlgorithm(completion: string): Extraction {
  const normalised = /\r|\t/.test(completion);
  const text = completion.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
  const lines = text.split('\n');
  const blocks = fencedBlocks(lines);
  const candidates = blocks.map((b, i) => ({ b, i })).filter(({ b }) => usable(b.lang) && b.lines.some((l) => l.trim()));
  if (candidates.length) {
    const pick = candidates.find(({ b }) => DEFINES_MERGE.test(b.lines.join('\n'))) ?? candidates[0];
    const code = trimBlank(pick.b.lines).join('\n') + '\n';
    return { ok: true, code, from: 'fenced', blocks: blocks.length, chosen: pick.i, truncated: !pick.b.closed, definesMerge: DEFINES_MERGE.test(code), normalised };
  }
  const bare = bareCode(lines);
  if (bare.length && bare.some((l) => /^(async\s+)?def\s/.test(l))) {
    const code = bare.join('\n') + '\n';
    return { ok: true, code, from: 'bare', blocks: blocks.length, chosen: -1, truncated: false, definesMerge: DEFINES_MERGE.test(code), normalised };
  }
  const detail = completion.trim() ? `no Python function in ${completion.length} characters of completion` : 'the completion is empty';
  return { ok: false, failure: 'no_code', detail };
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}
