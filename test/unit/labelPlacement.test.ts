// The charts' reference-line labels go where they hide no data: the geometry is checked against
// a brute-force sampling oracle, and the progress chart's case from the cockpit review (a label
// at the right end hiding the best-so-far and iteration-best lines) is replayed in pixels.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  boxesOverlap,
  horizontalSpots,
  placeLabel,
  segmentHitsBox,
  verticalSpots,
  type Box,
  type Segment,
} from '../../webview/src/labelPlacement';

/** Samples the segment densely: does any sample fall inside the box? */
function sampledHit(s: Segment, b: Box): boolean {
  for (let i = 0; i <= 2000; i++) {
    const t = i / 2000;
    const x = s.x0 + (s.x1 - s.x0) * t;
    const y = s.y0 + (s.y1 - s.y0) * t;
    if (x >= b.left && x <= b.left + b.width && y >= b.top && y <= b.top + b.height) return true;
  }
  return false;
}

/** A small deterministic generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 2 ** 32;
  };
}

const area = { left: 40, right: 440, top: 10, bottom: 210 };

describe('label placement', () => {
  it('finds the segments that cross a box as dense sampling does', () => {
    const r = rng(7);
    let hits = 0;
    for (let n = 0; n < 3000; n++) {
      const s = { x0: r() * 100, y0: r() * 100, x1: r() * 100, y1: r() * 100 };
      // Some axis-aligned segments, the case Liang–Barsky treats apart.
      if (n % 5 === 0) s.y1 = s.y0;
      if (n % 7 === 0) s.x1 = s.x0;
      const b = { left: 30 + r() * 20, top: 30 + r() * 20, width: 5 + r() * 30, height: 5 + r() * 30 };
      const expected = sampledHit(s, b);
      // Sampling can miss a graze of a corner; only clear cases are compared.
      const grazing = [0, 0.0005, -0.0005].some((d) => sampledHit(s, { left: b.left - 0.05 + d, top: b.top - 0.05, width: b.width + 0.1, height: b.height + 0.1 }) !== expected);
      if (grazing) continue;
      assert.equal(segmentHitsBox(s, b), expected, JSON.stringify({ s, b }));
      if (expected) hits++;
    }
    assert.ok(hits > 300, `both outcomes are exercised (${hits} hits)`);
  });

  it('keeps the preferred spot when it is free, and never covers a label already placed', () => {
    const spots = horizontalSpots(100, 80, 14, area);
    assert.deepEqual(placeLabel(spots, { segments: [], boxes: [] }, []), spots[0], 'right end, above the line');
    const first = placeLabel(spots, { segments: [], boxes: [] }, []);
    const second = placeLabel(horizontalSpots(103, 80, 14, area), { segments: [], boxes: [] }, [first]);
    assert.ok(!boxesOverlap(first, second), 'two close lines get labels that do not overlap');
  });

  it('moves a horizontal label off the best-so-far and iteration-best lines that end at the right', () => {
    // The review's chart: three iterations; the seed line at y=120; best so far climbs from 150
    // to 112 and ends just above the seed line at the right edge, where the label used to go.
    const xAt = (i: number) => area.left + ((i - 0.7) / 2.6) * (area.right - area.left);
    const bestSoFar = [150, 118, 112].map((y, i) => ({ x: xAt(i + 1), y }));
    const iterationBest = [150, 118, 125].map((y, i) => ({ x: xAt(i + 1), y }));
    const segments: Segment[] = [];
    const boxes: Box[] = [];
    for (const line of [bestSoFar, iterationBest]) {
      line.forEach((q, i) => {
        boxes.push({ left: q.x - 4, top: q.y - 4, width: 8, height: 8 });
        if (i) segments.push({ x0: line[i - 1].x, y0: line[i - 1].y, x1: q.x, y1: q.y });
      });
    }
    const spots = horizontalSpots(120, 70, 14, area);
    const naive = spots[0];
    assert.ok(segments.some((s) => segmentHitsBox(s, naive)), 'the right end is where the data is');
    const spot = placeLabel(spots, { segments, boxes }, []);
    assert.ok(!segments.some((s) => segmentHitsBox(s, spot)), `no line crosses the label at ${JSON.stringify(spot)}`);
    assert.ok(!boxes.some((b) => boxesOverlap(b, spot)), 'no point is hidden');
    assert.ok(spot.top + spot.height <= 121 || spot.top >= 119, 'the label stays beside its line');
  });

  it('puts a vertical line label beside a tall bar rather than over it', () => {
    const bar = { left: 200, top: 12, width: 18, height: 190 };
    const spots = verticalSpots(198, 90, 14, area);
    const spot = placeLabel(spots, { segments: [], boxes: [bar] }, []);
    assert.ok(!boxesOverlap(spot, bar), JSON.stringify(spot));
    assert.ok(spot.left + spot.width <= 198, 'to the left of its line');
  });

  it('keeps every spot inside the plot, even for lines at the edges', () => {
    for (const y of [area.top, area.top + 3, area.bottom - 2, area.bottom]) {
      for (const s of horizontalSpots(y, 60, 14, area)) {
        assert.ok(s.top >= area.top && s.top + s.height <= area.bottom, `y=${y}: ${JSON.stringify(s)}`);
      }
    }
    for (const x of [area.left, area.right]) {
      for (const s of verticalSpots(x, 60, 14, area)) assert.ok(s.left >= area.left - 1 && s.left + s.width <= area.right + 1, `x=${x}: ${JSON.stringify(s)}`);
    }
  });
});
