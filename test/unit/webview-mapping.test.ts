import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annulusPath, assignTracks, layersAtEntry, layoutRing, ringCoverage, ringIndexAt, spansToArcs } from '../../webview-ui/src/mapping/layout';
import { downsampleGrid, heatmapPixels, histogramBars, parseColor, symmetricLimit } from '../../webview-ui/src/mapping/weights';
import { planFor } from '../../src/core/experiment/planning';

const TAU = Math.PI * 2;
const config = (arch: string, dof: string, extra = ''): string =>
  JSON.stringify({ name: `${arch}-t`, seed: 1, model: { arch }, rpg: { dof, sampling: 'ring' }, data: { dataset: 'mnist-embedded' }, ...(extra ? JSON.parse(extra) : {}) });

test('spansToArcs maps ring ranges to angles and merges touching ones', () => {
  const arcs = spansToArcs([{ start: 50, end: 100 }, { start: 0, end: 25 }, { start: 25, end: 30 }], 100);
  assert.equal(arcs.length, 2);
  assert.deepEqual(arcs[0], { a0: 0, a1: (30 / 100) * TAU });
  assert.ok(Math.abs(arcs[1]!.a0 - Math.PI) < 1e-12 && Math.abs(arcs[1]!.a1 - TAU) < 1e-12);
  // a one-entry span of a huge ring is widened to stay visible
  const tiny = spansToArcs([{ start: 10, end: 11 }], 1e7, 0.01);
  assert.ok(tiny[0]!.a1 - tiny[0]!.a0 >= 0.01 - 1e-12);
  assert.deepEqual(spansToArcs([{ start: 1, end: 2 }], 0), []);
});

test('annulusPath draws segments and full rings', () => {
  const p = annulusPath(100, 100, 50, 60, 0, Math.PI / 2);
  assert.match(p, /^M100 40A60 60 0 0 1 160 100L150 100A50 50 0 0 0 100 50Z$/);
  assert.match(annulusPath(0, 0, 5, 10, 0, 4), / 0 1 1 /); // large-arc flag past π
  const full = annulusPath(100, 100, 50, 60, 0, TAU);
  assert.equal((full.match(/M/g) ?? []).length, 2);
});

test('LeNet-5 at 10%: one track per generated layer, every layer wraps the ring', () => {
  const plan = planFor({ text: config('lenet5', '10%') });
  const layout = layoutRing(plan, { size: 400 });
  assert.equal(layout.tracks.length, plan.layers.length);
  assert.equal(layout.packed, false);
  for (const t of layout.tracks) {
    assert.ok(t.r0 < t.r1 && t.r1 <= layout.ringR0);
    const l = plan.layers[t.index]!;
    assert.equal(t.wholeRing, l.fullWraps > 0);
    assert.ok(t.ringShare > 0 && t.ringShare <= 1);
  }
  // tracks go inwards in fetch order
  assert.ok(layout.tracks[0]!.r1 > layout.tracks[layout.tracks.length - 1]!.r1);
});

test('ResNet-34: every generated layer laid out, cheaply', () => {
  const plan = planFor({ text: config('resnet34', '1%') });
  assert.ok(plan.summary.generatedParams > 21e6);
  const t0 = performance.now();
  const layout = layoutRing(plan, { size: 480 });
  assert.ok(performance.now() - t0 < 50);
  assert.equal(layout.tracks.length, plan.layers.length);
  assert.ok(layout.trackCount <= 48);
  const arcs = layout.tracks.reduce((s, t) => s + t.arcs.length, 0);
  assert.ok(arcs <= plan.layers.length * 2);
});

test('assignTracks packs non-overlapping layers when there are too many', () => {
  const arcs = [[{ a0: 0, a1: 1 }], [{ a0: 1, a1: 2 }], [{ a0: 0.5, a1: 1.5 }], []];
  const whole = [false, false, false, true];
  assert.deepEqual(assignTracks(arcs, whole, 10), { tracks: [0, 1, 2, 3], count: 4, packed: false });
  assert.deepEqual(assignTracks(arcs, whole, 2), { tracks: [0, 0, 1, 2], count: 3, packed: true });
});

test('ringIndexAt and layersAtEntry find what sits under the pointer', () => {
  const plan = planFor({ text: config('lenet5', '50%') });
  const layout = layoutRing(plan, { size: 200 });
  assert.equal(ringIndexAt(layout, layout.cx, layout.cy - 50, plan.ringSize), 0);
  assert.equal(ringIndexAt(layout, layout.cx + 0.0001, layout.cy + 50, plan.ringSize), Math.floor(plan.ringSize / 2));
  assert.equal(ringIndexAt(layout, 0, 0, plan.ringSize), undefined);
  const first = plan.layers[0]!;
  assert.ok(layersAtEntry(plan, first.spans[0]!.start).includes(first.name));
});

test('downsampleGrid block-averages down to the canvas', () => {
  const g = downsampleGrid({ rows: 4, cols: 4, values: Array.from({ length: 16 }, (_, i) => i) }, 2, 2);
  assert.equal(g.rows, 2);
  assert.equal(g.cols, 2);
  assert.deepEqual(Array.from(g.values), [2.5, 4.5, 10.5, 12.5]);
  const same = downsampleGrid({ rows: 3, cols: 5, values: new Array(15).fill(1) }, 10, 10);
  assert.equal(same.rows * same.cols, 15);
});

test('heatmap colours diverge around zero and clamp at the limit', () => {
  assert.equal(symmetricLimit([0.1, -0.2, 5, 0.3], 0.5), 0.2);
  const px = heatmapPixels({ rows: 1, cols: 3, values: [-1, 0, 9] }, 1, [0, 0, 255], [255, 255, 255], [255, 0, 0]);
  assert.deepEqual(Array.from(px), [0, 0, 255, 255, 255, 255, 255, 255, 255, 0, 0, 255]);
});

test('histogramBars scales counts to the box', () => {
  const bars = histogramBars([-1, 0, 1], [5, 10], 100, 50);
  assert.equal(bars.length, 2);
  assert.equal(bars[1]!.height, 50);
  assert.equal(bars[0]!.height, 25);
  assert.equal(bars[1]!.x, 50);
  assert.deepEqual(histogramBars([0, 1], [1, 2], 10, 10), []);
});

test('parseColor reads theme colours', () => {
  assert.deepEqual(parseColor('#ff8000'), [255, 128, 0]);
  assert.deepEqual(parseColor('#fff'), [255, 255, 255]);
  assert.deepEqual(parseColor('rgba(1, 2, 3, 0.5)'), [1, 2, 3]);
  assert.equal(parseColor('var(--x)'), undefined);
});

test('ringCoverage: the average over the ring is N / M (the reuse factor)', () => {
  const plan = planFor({ text: config('lenet5', '10%') });
  const cover = ringCoverage(plan, 360);
  const mean = cover.reduce((s, v) => s + v, 0) / cover.length;
  assert.ok(Math.abs(mean - plan.summary.generatedParams / plan.ringSize) < 0.05, `${mean}`);
  assert.ok(Math.min(...cover) >= Math.floor(plan.summary.generatedParams / plan.ringSize) - 1e-9);
});
