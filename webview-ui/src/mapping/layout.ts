// Pure geometry of the ring mapping: the ring of M entries is a circle, each generated layer a
// track of annulus segments over the ring ranges it fetches. Nothing here touches the DOM, so
// the layout is unit-tested and costs O(layers + spans), never O(ring entries).
import type { PlanLayer, PlanResult } from '../../../src/core/experiment/types';

export interface Arc {
  /** Angles in radians, clockwise from 12 o'clock; a0 < a1 ≤ a0 + 2π. */
  readonly a0: number;
  readonly a1: number;
}

export interface LayerTrack {
  readonly name: string;
  /** Index in plan.layers (fetch order). */
  readonly index: number;
  readonly track: number;
  readonly r0: number;
  readonly r1: number;
  readonly arcs: readonly Arc[];
  /** The layer reads the whole ring at least once (ring mode) or at random (shuffled mode). */
  readonly wholeRing: boolean;
  readonly fullWraps: number;
  readonly reuse: number;
  /** distinctEntries / M: the share of the ring this layer reads. */
  readonly ringShare: number;
}

export interface RingLayout {
  readonly size: number;
  readonly cx: number;
  readonly cy: number;
  /** The ring itself (entries 0..M-1 around the circle). */
  readonly ringR0: number;
  readonly ringR1: number;
  readonly tracks: readonly LayerTrack[];
  readonly trackCount: number;
  /** Layers share tracks when there are more than `maxTracks` (packed where their arcs do not overlap). */
  readonly packed: boolean;
}

export interface LayoutOptions {
  readonly size: number;
  /** One track per layer up to this many layers; beyond it, layers are packed. */
  readonly maxTracks?: number;
  /** Spans narrower than this (radians) are widened so they stay visible and hoverable. */
  readonly minArc?: number;
}

const TAU = Math.PI * 2;

/** Ring ranges [start, end) of a ring of size M as arcs; adjacent/overlapping arcs merge. */
export function spansToArcs(spans: readonly { start: number; end: number }[], ringSize: number, minArc = 0): Arc[] {
  if (ringSize <= 0) return [];
  const arcs = spans
    .filter((s) => s.end > s.start)
    .map((s) => {
      const a0 = (s.start / ringSize) * TAU;
      let a1 = (s.end / ringSize) * TAU;
      if (a1 - a0 < minArc) a1 = Math.min(TAU, a0 + minArc);
      return { a0, a1 };
    })
    .sort((p, q) => p.a0 - q.a0);
  const merged: Arc[] = [];
  for (const arc of arcs) {
    const last = merged[merged.length - 1];
    if (last && arc.a0 <= last.a1 + 1e-12) merged[merged.length - 1] = { a0: last.a0, a1: Math.max(last.a1, arc.a1) };
    else merged.push(arc);
  }
  return merged;
}

function wholeRingOf(layer: PlanLayer, mode: PlanResult['mode']): boolean {
  return mode === 'shuffled' || layer.fullWraps > 0;
}

function overlaps(a: readonly Arc[], b: readonly Arc[]): boolean {
  return a.some((p) => b.some((q) => p.a0 < q.a1 && q.a0 < p.a1));
}

/** Tracks for each layer: its own track, or (packed) the first one its arcs fit in. */
export function assignTracks(arcsByLayer: readonly (readonly Arc[])[], whole: readonly boolean[], maxTracks: number): { tracks: number[]; count: number; packed: boolean } {
  const n = arcsByLayer.length;
  if (n <= maxTracks) return { tracks: arcsByLayer.map((_, i) => i), count: n, packed: false };
  const occupied: Arc[][] = [];
  const tracks = arcsByLayer.map((arcs, i) => {
    const need = whole[i] ? [{ a0: 0, a1: TAU }] : arcs;
    let t = occupied.findIndex((used) => !overlaps(used, need));
    if (t < 0) {
      t = occupied.length;
      occupied.push([]);
    }
    occupied[t]!.push(...need);
    return t;
  });
  return { tracks, count: occupied.length, packed: true };
}

export function layoutRing(plan: PlanResult, options: LayoutOptions): RingLayout {
  const size = options.size;
  const cx = size / 2;
  const cy = size / 2;
  const outer = size / 2 - 4;
  const ringR1 = outer;
  const ringR0 = outer - Math.max(6, size * 0.03);
  const inner = size * 0.14;
  const minArc = options.minArc ?? 0.004;
  const M = plan.ringSize;
  const arcsByLayer = plan.layers.map((l) => (plan.mode === 'ring' ? spansToArcs(l.spans, M, minArc) : []));
  const whole = plan.layers.map((l) => wholeRingOf(l, plan.mode));
  const { tracks, count, packed } = assignTracks(arcsByLayer, whole, options.maxTracks ?? 48);
  const band = (ringR0 - 4 - inner) / Math.max(1, count);
  const gap = band > 4 ? 1 : 0;
  return {
    size, cx, cy, ringR0, ringR1, trackCount: count, packed,
    tracks: plan.layers.map((l, i) => {
      const t = tracks[i]!;
      // Track 0 is outermost: the first layer fetched sits next to the ring.
      const r1 = ringR0 - 4 - t * band;
      return {
        name: l.name, index: i, track: t, r0: r1 - band + gap, r1,
        arcs: arcsByLayer[i]!, wholeRing: whole[i]!, fullWraps: l.fullWraps, reuse: l.reuse,
        ringShare: M > 0 ? Math.min(1, l.distinctEntries / M) : 0,
      };
    }),
  };
}

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();

/** SVG path of the annulus segment between radii r0 < r1 and angles a0 < a1 (clockwise from 12 o'clock). */
export function annulusPath(cx: number, cy: number, r0: number, r1: number, a0: number, a1: number): string {
  const span = a1 - a0;
  if (span >= TAU - 1e-9) {
    // A full ring: two half arcs per circle, inner circle drawn the other way (evenodd hole).
    return [
      `M${fmt(cx)} ${fmt(cy - r1)}A${fmt(r1)} ${fmt(r1)} 0 1 1 ${fmt(cx)} ${fmt(cy + r1)}A${fmt(r1)} ${fmt(r1)} 0 1 1 ${fmt(cx)} ${fmt(cy - r1)}Z`,
      `M${fmt(cx)} ${fmt(cy - r0)}A${fmt(r0)} ${fmt(r0)} 0 1 0 ${fmt(cx)} ${fmt(cy + r0)}A${fmt(r0)} ${fmt(r0)} 0 1 0 ${fmt(cx)} ${fmt(cy - r0)}Z`,
    ].join('');
  }
  const large = span > Math.PI ? 1 : 0;
  const pt = (r: number, a: number): string => `${fmt(cx + r * Math.sin(a))} ${fmt(cy - r * Math.cos(a))}`;
  return `M${pt(r1, a0)}A${fmt(r1)} ${fmt(r1)} 0 ${large} 1 ${pt(r1, a1)}L${pt(r0, a1)}A${fmt(r0)} ${fmt(r0)} 0 ${large} 0 ${pt(r0, a0)}Z`;
}

/** Ring position (entry index) under a point, or undefined outside the ring's band of tracks. */
export function ringIndexAt(layout: RingLayout, x: number, y: number, ringSize: number): number | undefined {
  const dx = x - layout.cx;
  const dy = y - layout.cy;
  const r = Math.hypot(dx, dy);
  if (r > layout.ringR1 || ringSize <= 0) return undefined;
  let a = Math.atan2(dx, -dy);
  if (a < 0) a += TAU;
  return Math.min(ringSize - 1, Math.floor((a / TAU) * ringSize));
}

/** Layers whose fetched ranges cover ring entry `index` (ring mode). */
export function layersAtEntry(plan: PlanResult, index: number): string[] {
  return plan.layers
    .filter((l) => l.fullWraps > 0 || l.spans.some((s) => s.start <= index && index < s.end))
    .map((l) => l.name);
}

/**
 * How many generated weights read each of `bins` equal slices of the ring, per ring entry
 * (the ring band's shading): full wraps add 1 everywhere, partial spans add their overlap.
 */
export function ringCoverage(plan: PlanResult, bins: number): Float64Array {
  const cover = new Float64Array(bins);
  const M = plan.ringSize;
  if (M <= 0 || bins <= 0) return cover;
  const width = M / bins;
  for (const l of plan.layers) {
    if (plan.mode === 'shuffled') {
      for (let b = 0; b < bins; b++) cover[b]! += l.params / M;
      continue;
    }
    if (l.fullWraps) for (let b = 0; b < bins; b++) cover[b]! += l.fullWraps;
    for (const s of l.spans) {
      const b0 = Math.floor(s.start / width);
      const b1 = Math.min(bins - 1, Math.floor((s.end - 1e-9) / width));
      for (let b = b0; b <= b1; b++) {
        const overlap = Math.min(s.end, (b + 1) * width) - Math.max(s.start, b * width);
        if (overlap > 0) cover[b]! += overlap / width;
      }
    }
  }
  return cover;
}
