// Where a reference line's label goes on a chart: the first candidate spot that covers no data
// (line segments, points, bars) and no label already placed. Pure geometry, so it is tested
// without a canvas.

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Segment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** What a label must not cover. */
export interface Obstacles {
  segments: Segment[];
  boxes: Box[];
}

/** True when the segment crosses or touches the box (Liang–Barsky clipping). */
export function segmentHitsBox(s: Segment, b: Box): boolean {
  const dx = s.x1 - s.x0;
  const dy = s.y1 - s.y0;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [
    [-dx, s.x0 - b.left],
    [dx, b.left + b.width - s.x0],
    [-dy, s.y0 - b.top],
    [dy, b.top + b.height - s.y0],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const r = q / p;
    if (p < 0) {
      if (r > t1) return false;
      if (r > t0) t0 = r;
    } else {
      if (r < t0) return false;
      if (r < t1) t1 = r;
    }
  }
  return true;
}

export function boxesOverlap(a: Box, b: Box): boolean {
  return a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
}

/** How much of the data and the placed labels a spot would hide (0: nothing). */
function cost(spot: Box, obstacles: Obstacles, placed: Box[]): number {
  let n = 0;
  for (const s of obstacles.segments) if (segmentHitsBox(s, spot)) n++;
  for (const b of obstacles.boxes) if (boxesOverlap(b, spot)) n++;
  // Covering another label is worse than covering a stretch of a line.
  for (const b of placed) if (boxesOverlap(b, spot)) n += 10;
  return n;
}

/**
 * The first candidate that hides nothing; when every candidate hides something, the one that
 * hides least (the earliest among equals), so the preferred spot wins whenever it is free.
 */
export function placeLabel(candidates: Box[], obstacles: Obstacles, placed: Box[]): Box {
  let best = candidates[0];
  let bestCost = Infinity;
  for (const spot of candidates) {
    const c = cost(spot, obstacles, placed);
    if (c === 0) return spot;
    if (c < bestCost) {
      best = spot;
      bestCost = c;
    }
  }
  return best;
}

/** The spots for a horizontal line's label: at the right end, then the left, above then below. */
export function horizontalSpots(y: number, width: number, height: number, area: { left: number; right: number; top: number; bottom: number }): Box[] {
  const right = area.right - width - 2;
  const left = area.left + 2;
  const mid = (area.left + area.right - width) / 2;
  const above = y - height - 1;
  const below = y + 1;
  const spots: Box[] = [];
  for (const x of [right, left, mid]) {
    for (const top of [above, below]) {
      if (top >= area.top && top + height <= area.bottom) spots.push({ left: x, top, width, height });
    }
  }
  // A line at the very edge still gets its label inside the chart.
  if (!spots.length) spots.push({ left: right, top: Math.min(Math.max(area.top, above), area.bottom - height), width, height });
  return spots;
}

/** The spots for a vertical line's label: rows along the top, beside the line (right, then left). */
export function verticalSpots(x: number, width: number, height: number, area: { left: number; right: number; top: number; bottom: number }, rows = 4): Box[] {
  const spots: Box[] = [];
  for (let row = 0; row < rows; row++) {
    const top = area.top + 2 + row * height;
    if (top + height > area.bottom) break;
    for (const left of [x + 2, x - width - 2]) {
      if (left >= area.left - 1 && left + width <= area.right + 1) spots.push({ left, top, width, height });
    }
  }
  if (!spots.length) spots.push({ left: Math.max(area.left, Math.min(x + 2, area.right - width)), top: area.top + 2, width, height });
  return spots;
}
