// The generation kernel's two hot loops as a tiny WebAssembly module that imports tfjs-wasm's own
// memory, so it reads and writes the backend's tensors in place. V8's JIT runs the same loops
// over typed arrays at ~5 ns per weight (bounds checks, float32↔float64 conversions on every
// element); this runs them 4–5× faster (bench/RESULTS.md). The module is ~200 bytes, emitted
// below instruction by instruction rather than shipped as a binary, so what runs is readable here.
//
// Index entries are "signed indices": bit 31 holds the weight's sign, the low bits its ring entry
// (a byte address is entry << 2, which drops bit 31). Arithmetic matches the JS loops bit for
// bit: the forward product is one float32 multiply; the gradient accumulates as JS does,
// float32(float64(g) + float64(c)·float64(±dw)).

/** Pointers are byte offsets into the backend's memory; `c` is the layer's float32 scale. */
export interface RingLoops {
  /** out[k] = c · ±ring[entry(idx[k])] for k < n. */
  gather(out: number, ring: number, idx: number, n: number, c: number): void;
  /** g[entry(idx[k])] += c · ±dw[k] for k < n. */
  scatterAdd(g: number, dw: number, idx: number, n: number, c: number): void;
}

export const SIGN_BIT = 0x80000000 | 0;

// Opcodes used below (WebAssembly core spec 1.0, section 5.4).
const OP = {
  block: 0x02, loop: 0x03, end: 0x0b, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, f32Store: 0x38, i32Const: 0x41,
  i32GeU: 0x4f, i32LtU: 0x49, i32Add: 0x6a, i32And: 0x71, i32Xor: 0x73, i32Shl: 0x74,
  f64Add: 0xa0, f64Mul: 0xa2, f32Mul: 0x94, f32DemoteF64: 0xb6, f64PromoteF32: 0xbb, f32ReinterpretI32: 0xbe,
} as const;
const I32 = 0x7f;
const F32 = 0x7d;
const MEM4 = [2, 0]; // alignment 2^2, offset 0

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const name = (s: string) => { const b = new TextEncoder().encode(s); return [...uleb(b.length), ...b]; };
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

// Both functions: (p0 i32, p1 i32, idx i32, n i32, c f32); locals 5 end, 6 v, 7 address.
const [P0, P1, IDX, N, C, END, V, ADDR] = [0, 1, 2, 3, 4, 5, 6, 7];

/** end = idx + 4n; if idx < end, loop `body` with p0/p1 stepping by `steps` and idx by 4. */
function loopOver(body: number[], steps: { p0: boolean; p1: boolean }): number[] {
  const advance = (local: number) => [OP.localGet, local, OP.i32Const, 4, OP.i32Add, OP.localSet, local];
  return [
    OP.localGet, IDX, OP.localGet, N, OP.i32Const, 2, OP.i32Shl, OP.i32Add, OP.localSet, END,
    OP.block, OP.void,
    OP.localGet, IDX, OP.localGet, END, OP.i32GeU, OP.brIf, 0,
    OP.loop, OP.void,
    OP.localGet, IDX, OP.i32Load, ...MEM4, OP.localSet, V,
    ...body,
    ...(steps.p0 ? advance(P0) : []),
    ...(steps.p1 ? advance(P1) : []),
    OP.localGet, IDX, OP.i32Const, 4, OP.i32Add, OP.localTee, IDX, OP.localGet, END, OP.i32LtU, OP.brIf, 0,
    OP.end,
    OP.end,
  ];
}

/** ±x: the i32 bits of x on the stack, xor'ed with v's sign bit, as f32. */
const signedBits = [OP.localGet, V, OP.i32Const, ...sleb(SIGN_BIT), OP.i32And, OP.i32Xor, OP.f32ReinterpretI32];
/** p + entry(v)·4 (the shift drops the sign bit). */
const entryAddress = (p: number) => [OP.localGet, p, OP.localGet, V, OP.i32Const, 2, OP.i32Shl, OP.i32Add];

// out[k] = c · ±ring[entry]
const gatherBody = [
  OP.localGet, P0,
  OP.localGet, C,
  ...entryAddress(P1), OP.i32Load, ...MEM4, ...signedBits,
  OP.f32Mul,
  OP.f32Store, ...MEM4,
];

// g[entry] = f32(f64(g[entry]) + f64(c) · f64(±dw[k]))
const scatterBody = [
  ...entryAddress(P0), OP.localTee, ADDR,
  OP.localGet, ADDR, OP.f32Load, ...MEM4, OP.f64PromoteF32,
  OP.localGet, C, OP.f64PromoteF32,
  OP.localGet, P1, OP.i32Load, ...MEM4, ...signedBits, OP.f64PromoteF32,
  OP.f64Mul, OP.f64Add, OP.f32DemoteF64,
  OP.f32Store, ...MEM4,
];

function functionBody(code: number[]): number[] {
  const locals = vec([[3, I32]]); // end, v, address
  const body = [...locals, ...code, OP.end];
  return [...uleb(body.length), ...body];
}

/** The module's bytes: imports env.memory, exports gather and scatterAdd. */
export function ringLoopsModuleBytes(): Uint8Array<ArrayBuffer> {
  const signature = [0x60, ...vec([[I32], [I32], [I32], [I32], [F32]]), 0];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([signature])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0]])), // memory, min 0 pages, no max
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...name('gather'), 0x00, 0], [...name('scatterAdd'), 0x00, 1]])),
    ...section(10, vec([functionBody(loopOver(gatherBody, { p0: true, p1: false })), functionBody(loopOver(scatterBody, { p0: false, p1: true }))])),
  ]);
}

let compiled: WebAssembly.Module | undefined;

/** The loops bound to `memory` (tfjs-wasm's, unshared). Throws if WebAssembly refuses it. */
export function ringLoopsFor(memory: WebAssembly.Memory): RingLoops {
  compiled ??= new WebAssembly.Module(ringLoopsModuleBytes());
  const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as RingLoops;
  return { gather: exports.gather, scatterAdd: exports.scatterAdd };
}

/** A signed index: entry in the low bits, bit 31 set for a negative sign. */
export function signedIndex(index: Int32Array, sign: Int8Array, into: Int32Array): Int32Array {
  for (let i = 0; i < index.length; i++) into[i] = sign[i]! < 0 ? index[i]! | SIGN_BIT : index[i]!;
  return into;
}
