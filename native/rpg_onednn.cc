// Optional native kernels for the trainer: oneDNN (the library PyTorch's CPU build runs its
// convolutions on) computing conv forward, input gradient and filter gradient, and ReLU, in place
// on tfjs-wasm's heap, plus training batch norm in OpenMP loops of our own (below). tfjs-wasm's own convolutions are XNNPACK's 4-wide WebAssembly SIMD without
// FMA; oneDNN's x86 JIT kernels use AVX2/AVX-512 and FMA (see bench/RESULTS.md for the ratio).
//
// Built by scripts/build-native.mjs when libdnnl-dev is installed; when it is not, training runs
// on tfjs-wasm's kernels alone. Plain N-API (no node-addon-api dependency).
//
// JS calls conv2d(heap: ArrayBuffer, kind, geometry: Int32Array(13), a, b, out) with byte offsets
// into heap:
//   kind 0  forward            a = x [n,h,w,cin]     b = w [kh,kw,cin,cout]  out = y [n,oh,ow,cout]
//   kind 1  input gradient     a = dy [n,oh,ow,cout] b = w                   out = dx [n,h,w,cin]
//   kind 2  filter gradient    a = x                 b = dy                  out = dw [kh,kw,cin,cout]
// geometry = n, h, w, cin, kh, kw, cout, strideH, strideW, padTop, padLeft, padBottom, padRight.
//
// threads(n) sets how many threads every later primitive runs on (Debian's libdnnl is built on
// OpenMP/libgomp: the count is the calling thread's OpenMP setting, set before each call, so no
// other library's OpenMP count leaks in). oneDNN splits work by the thread count it sees when a
// primitive is created, so primitives are kept per count; for a fixed count the results repeat
// bit for bit, a different count may sum in a different order (last-bit differences).
#include <node_api.h>
#include <dnnl.hpp>

#if DNNL_VERSION_MAJOR != 2
#error "rpg_onednn.cc is written against the oneDNN 2.x API (Debian/Ubuntu libdnnl-dev 2.x)"
#endif

#if defined(_OPENMP) && DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP
#include <omp.h>
#define RPG_SETS_THREADS 1
#else
#define RPG_SETS_THREADS 0
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

struct Geometry {
  int64_t n, h, w, cin, kh, kw, cout, sh, sw, pt, pl, pb, pr, oh, ow;
};

// One argument of a primitive: the user's plain (tfjs) layout, and when the primitive chose
// another layout, a buffer in that layout plus the reorder between the two. Made once per shape.
struct Slot {
  memory::desc user;
  memory::desc chosen;
  std::unique_ptr<memory> inner;
  std::unique_ptr<dnnl::reorder> in;   // user -> inner (inputs)
  std::unique_ptr<dnnl::reorder> out;  // inner -> user (outputs)

  Slot(const memory::desc& userDesc, const memory::desc& chosenDesc, bool isInput) : user(userDesc), chosen(chosenDesc) {
    if (user == chosen) return;
    inner = std::make_unique<memory>(chosen, cpuEngine());
    memory u(user, cpuEngine(), DNNL_MEMORY_NONE);
    if (isInput) in = std::make_unique<dnnl::reorder>(u, *inner);
    else out = std::make_unique<dnnl::reorder>(*inner, u);
  }

  // The memory the primitive reads: the user's buffer, reordered first when needed.
  memory input(void* ptr) {
    memory u(user, cpuEngine(), ptr);
    if (!inner) return u;
    in->execute(cpuStream(), u, *inner);
    return *inner;
  }
  memory output(void* ptr) { return inner ? *inner : memory(user, cpuEngine(), ptr); }
  void finish(void* ptr) {
    if (!inner) return;
    memory u(user, cpuEngine(), ptr);
    out->execute(cpuStream(), *inner, u);
  }
};

struct Prepared {
  std::unique_ptr<dnnl::primitive> prim;
  std::unique_ptr<Slot> a, b, out;
  int argA, argB, argOut;
};

memory::desc plain(const memory::dims& d, tag t) { return memory::desc(d, dt::f32, t); }
memory::desc any(const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); }

Prepared prepare(int kind, const Geometry& g) {
  const memory::dims xd{g.n, g.cin, g.h, g.w}, wd{g.cout, g.cin, g.kh, g.kw}, yd{g.n, g.cout, g.oh, g.ow};
  const memory::dims strides{g.sh, g.sw}, padL{g.pt, g.pl}, padR{g.pb, g.pr};
  const auto xPlain = plain(xd, tag::nhwc), wPlain = plain(wd, tag::hwio), yPlain = plain(yd, tag::nhwc);
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, any(xd), any(wd), any(yd), strides, padL, padR);
  dnnl::convolution_forward::primitive_desc fpd(fd, cpuEngine());
  Prepared p;
  if (kind == 0) {
    p.prim = std::make_unique<dnnl::convolution_forward>(fpd);
    p.a = std::make_unique<Slot>(xPlain, fpd.src_desc(), true);
    p.b = std::make_unique<Slot>(wPlain, fpd.weights_desc(), true);
    p.out = std::make_unique<Slot>(yPlain, fpd.dst_desc(), false);
    p.argA = DNNL_ARG_SRC; p.argB = DNNL_ARG_WEIGHTS; p.argOut = DNNL_ARG_DST;
  } else if (kind == 1) {
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, any(xd), any(wd), any(yd), strides, padL, padR);
    dnnl::convolution_backward_data::primitive_desc bpd(bd, cpuEngine(), fpd);
    p.prim = std::make_unique<dnnl::convolution_backward_data>(bpd);
    p.a = std::make_unique<Slot>(yPlain, bpd.diff_dst_desc(), true);
    p.b = std::make_unique<Slot>(wPlain, bpd.weights_desc(), true);
    p.out = std::make_unique<Slot>(xPlain, bpd.diff_src_desc(), false);
    p.argA = DNNL_ARG_DIFF_DST; p.argB = DNNL_ARG_WEIGHTS; p.argOut = DNNL_ARG_DIFF_SRC;
  } else {
    dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, any(xd), any(wd), any(yd), strides, padL, padR);
    dnnl::convolution_backward_weights::primitive_desc bpd(bd, cpuEngine(), fpd);
    p.prim = std::make_unique<dnnl::convolution_backward_weights>(bpd);
    p.a = std::make_unique<Slot>(xPlain, bpd.src_desc(), true);
    p.b = std::make_unique<Slot>(yPlain, bpd.diff_dst_desc(), true);
    p.out = std::make_unique<Slot>(wPlain, bpd.diff_weights_desc(), false);
    p.argA = DNNL_ARG_SRC; p.argB = DNNL_ARG_DIFF_DST; p.argOut = DNNL_ARG_DIFF_WEIGHTS;
  }
  return p;
}

int gThreads = 1;

// Primitives are JIT-compiled on creation (milliseconds): one per (kind, shape, threads), kept.
std::map<std::vector<int64_t>, Prepared>& cache() {
  static std::map<std::vector<int64_t>, Prepared> c;
  return c;
}

void run(int kind, const Geometry& g, char* base, int64_t a, int64_t b, int64_t out) {
#if RPG_SETS_THREADS
  omp_set_num_threads(gThreads);
#endif
  std::vector<int64_t> key{gThreads, kind, g.n, g.h, g.w, g.cin, g.kh, g.kw, g.cout, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr};
  auto it = cache().find(key);
  if (it == cache().end()) it = cache().emplace(key, prepare(kind, g)).first;
  Prepared& p = it->second;
  std::unordered_map<int, memory> args{
      {p.argA, p.a->input(base + a)}, {p.argB, p.b->input(base + b)}, {p.argOut, p.out->output(base + out)}};
  p.prim->execute(cpuStream(), args);
  p.out->finish(base + out);
  cpuStream().wait();
}

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

// Training-mode batch normalization over the rows (n·h·w) of an nhwc tensor [rows, c], every
// buffer plain f32 on the heap.
//   kind 0  forward   in: x, gamma, beta                        out: y, mean, variance (biased)
//   kind 1  backward  in: x, mean, variance, dy, gamma, beta    out: dx, dgamma, dbeta
// (beta is not used by the backward; it is taken so both kinds name the same parameters.)
// Written here, not as oneDNN's batch-norm primitive: that one's float32 statistics put 4–5e-6 of
// error on unit outputs (measured against float64), 6× the hand-written tfjs form's, and deep
// models (MobileNetV2) then left the PyTorch parity tolerance. Here the sums are float64 over a
// fixed split of the rows into chunks, added in chunk order: the result does not depend on the
// thread count at all, and chunks run in parallel on the OpenMP threads.
constexpr int64_t kChunks = 64;

// The loops below vectorize across channels (each channel's sum keeps its order, no FMA), so
// the AVX2 copies GCC makes on x86-64 Linux compute the same bits as the baseline ones. (GCC
// clones the output loops; the channelSums reductions, inlined into callers, stay baseline.)
#if defined(__linux__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RPG_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RPG_VECTOR_CLONES
#endif

// Per-chunk sums of f(row, channel) for every channel, then added in chunk order into out[c].
template <typename F>
void channelSums(int64_t rows, int64_t c, std::vector<double>& out, F f) {
  const int64_t chunks = std::min<int64_t>(kChunks, rows);
  std::vector<double> partial(static_cast<size_t>(chunks * c), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++) {
    double* acc = partial.data() + k * c;
    const int64_t r0 = rows * k / chunks, r1 = rows * (k + 1) / chunks;
    for (int64_t r = r0; r < r1; r++)
      for (int64_t j = 0; j < c; j++) acc[j] += f(r * c + j, j);
  }
  out.assign(static_cast<size_t>(c), 0.0);
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t j = 0; j < c; j++) out[j] += partial[k * c + j];
}

RPG_VECTOR_CLONES void batchNormForward(int64_t rows, int64_t c, double eps, const float* x, const float* gamma, const float* beta, float* y, float* mean, float* variance) {
  std::vector<double> sum, sq;
  channelSums(rows, c, sum, [&](int64_t i, int64_t) { return static_cast<double>(x[i]); });
  std::vector<double> mu(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) mu[j] = sum[j] / static_cast<double>(rows);
  channelSums(rows, c, sq, [&](int64_t i, int64_t j) { const double d = x[i] - mu[j]; return d * d; });
  std::vector<float> a(static_cast<size_t>(c)), m(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) {
    const double var = sq[j] / static_cast<double>(rows);
    mean[j] = static_cast<float>(mu[j]);
    variance[j] = static_cast<float>(var);
    a[j] = static_cast<float>(gamma[j] / std::sqrt(var + eps));
    m[j] = static_cast<float>(mu[j]);
    b[j] = beta[j];
  }
  const int64_t chunks = std::min<int64_t>(kChunks, rows);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t r = rows * k / chunks; r < rows * (k + 1) / chunks; r++)
      for (int64_t j = 0; j < c; j++) y[r * c + j] = (x[r * c + j] - m[j]) * a[j] + b[j];
}

// dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)), dγ = Σ dy · x̂, dβ = Σ dy (x̂ = (x − μ)/σ).
RPG_VECTOR_CLONES void batchNormBackward(int64_t rows, int64_t c, double eps, const float* x, const float* mean, const float* variance, const float* dy, const float* gamma, float* dx, float* dgamma, float* dbeta) {
  std::vector<double> inv(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) inv[j] = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps);
  std::vector<double> sdy, sdyx;
  channelSums(rows, c, sdy, [&](int64_t i, int64_t) { return static_cast<double>(dy[i]); });
  channelSums(rows, c, sdyx, [&](int64_t i, int64_t j) { return static_cast<double>(dy[i]) * (x[i] - static_cast<double>(mean[j])) * inv[j]; });
  std::vector<float> a(static_cast<size_t>(c)), mdy(static_cast<size_t>(c)), mdyx(static_cast<size_t>(c)), mu(static_cast<size_t>(c)), iv(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; j++) {
    dbeta[j] = static_cast<float>(sdy[j]);
    dgamma[j] = static_cast<float>(sdyx[j]);
    a[j] = static_cast<float>(gamma[j] * inv[j]);
    mdy[j] = static_cast<float>(sdy[j] / static_cast<double>(rows));
    mdyx[j] = static_cast<float>(sdyx[j] / static_cast<double>(rows));
    mu[j] = mean[j];
    iv[j] = static_cast<float>(inv[j]);
  }
  const int64_t chunks = std::min<int64_t>(kChunks, rows);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t r = rows * k / chunks; r < rows * (k + 1) / chunks; r++)
      for (int64_t j = 0; j < c; j++) {
        const int64_t i = r * c + j;
        dx[i] = a[j] * (dy[i] - mdy[j] - (x[i] - mu[j]) * iv[j] * mdyx[j]);
      }
}

// batchNorm(heap, kind, shape: Int32Array [n,h,w,c], eps, offsets: Float64Array (6 or 9 byte offsets))
napi_value BatchNormCall(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 5) return Throw(env, "batchNorm(heap, kind, shape, eps, offsets)");
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heapBytes) != napi_ok) return Throw(env, "batchNorm: heap must be an ArrayBuffer");
  int32_t kind = -1;
  napi_get_value_int32(env, argv[1], &kind);
  if (kind != 0 && kind != 1) return Throw(env, "batchNorm: kind must be 0 (forward) or 1 (backward)");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array || length != 4) return Throw(env, "batchNorm: shape must be an Int32Array of 4");
  const int32_t* q = static_cast<const int32_t*>(data);
  for (int i = 0; i < 4; i++)
    if (q[i] < 1 || q[i] >= (1 << 20)) return Throw(env, "batchNorm: bad shape");
  double eps = 0;
  if (napi_get_value_double(env, argv[3], &eps) != napi_ok || !(eps > 0 && eps < 1)) return Throw(env, "batchNorm: eps must be a number in (0, 1)");
  const size_t count = kind == 0 ? 6 : 9;
  if (napi_get_typedarray_info(env, argv[4], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array || length != count)
    return Throw(env, "batchNorm: offsets must be a Float64Array of " + std::to_string(count));
  const double* off = static_cast<const double*>(data);
  const int64_t c = q[3], rows = static_cast<int64_t>(q[0]) * q[1] * q[2];
  if (rows >= (int64_t(1) << 40)) return Throw(env, "batchNorm: bad shape");
  // Which buffers are per channel ([c]); the others are [rows, c].
  static const bool perChannel[2][9] = {{false, true, true, false, true, true}, {false, true, true, false, true, true, false, true, true}};
  const int64_t heapSize = static_cast<int64_t>(heapBytes);
  float* ptr[9] = {};
  for (size_t i = 0; i < count; i++) {
    const int64_t bytes = 4 * (perChannel[kind][i] ? c : rows * c);
    const double o = off[i];
    // Every buffer must lie inside the heap: a wrong offset is an error, not a corrupted heap.
    if (!(o >= 0) || o != static_cast<double>(static_cast<int64_t>(o)) || static_cast<int64_t>(o) > heapSize - bytes) return Throw(env, "batchNorm: a buffer lies outside the heap");
    ptr[i] = reinterpret_cast<float*>(static_cast<char*>(heap) + static_cast<int64_t>(o));
  }
#if RPG_SETS_THREADS
  omp_set_num_threads(gThreads);
#endif
  if (kind == 0) batchNormForward(rows, c, eps, ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5]);
  else batchNormBackward(rows, c, eps, ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[6], ptr[7], ptr[8]);
  return nullptr;
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 6) return Throw(env, "conv2d(heap, kind, geometry, a, b, out)");
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heapBytes) != napi_ok) return Throw(env, "conv2d: heap must be an ArrayBuffer");
  int32_t kind = -1;
  napi_get_value_int32(env, argv[1], &kind);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_int32_array || length != 13) return Throw(env, "conv2d: geometry must be an Int32Array of 13");
  const int32_t* q = static_cast<const int32_t*>(data);
  Geometry g{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], 0, 0};
  // Each dimension below 2^20 keeps every byte count below 2^62 (no overflow); a heap is < 2^32.
  const int64_t dims[] = {g.n, g.h, g.w, g.cin, g.kh, g.kw, g.cout, g.sh, g.sw};
  for (int64_t d : dims)
    if (d < 1 || d >= (1 << 20)) return Throw(env, "conv2d: bad kind or geometry");
  if (kind < 0 || kind > 2 || g.pt < 0 || g.pl < 0 || g.pb < 0 || g.pr < 0 || g.pt >= (1 << 20) || g.pl >= (1 << 20) || g.pb >= (1 << 20) || g.pr >= (1 << 20))
    return Throw(env, "conv2d: bad kind or geometry");
  // A kernel larger than the padded input has no output (checked before dividing: C++ division
  // truncates toward zero where the JS side floors).
  if (g.h + g.pt + g.pb < g.kh || g.w + g.pl + g.pr < g.kw) return Throw(env, "conv2d: empty output");
  g.oh = (g.h + g.pt + g.pb - g.kh) / g.sh + 1;
  g.ow = (g.w + g.pl + g.pr - g.kw) / g.sw + 1;
  int64_t ptr[3] = {-1, -1, -1};
  for (int i = 0; i < 3; i++) {
    napi_valuetype t;
    if (napi_typeof(env, argv[3 + i], &t) != napi_ok || t != napi_number || napi_get_value_int64(env, argv[3 + i], &ptr[i]) != napi_ok)
      return Throw(env, "conv2d: buffer offsets must be numbers");
  }
  // Every buffer must lie inside the heap: a wrong offset is an error, not a corrupted heap.
  const int64_t xBytes = 4 * g.n * g.h * g.w * g.cin, wBytes = 4 * g.kh * g.kw * g.cin * g.cout, yBytes = 4 * g.n * g.oh * g.ow * g.cout;
  const int64_t sizes[3][3] = {{xBytes, wBytes, yBytes}, {yBytes, wBytes, xBytes}, {xBytes, yBytes, wBytes}};
  const int64_t heapSize = static_cast<int64_t>(heapBytes);
  for (int i = 0; i < 3; i++)
    if (ptr[i] < 0 || sizes[kind][i] > heapSize || ptr[i] > heapSize - sizes[kind][i]) return Throw(env, "conv2d: a buffer lies outside the heap");
  try {
    run(kind, g, static_cast<char*>(heap), ptr[0], ptr[1], ptr[2]);
  } catch (const dnnl::error& e) {
    return Throw(env, std::string("oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    return Throw(env, std::string("conv2d: ") + e.what());
  } catch (...) {
    return Throw(env, "conv2d: unknown native error");
  }
  return nullptr;
}

// ReLU over a flat f32 buffer of `count` values: kind 0 forward (x -> y), kind 1 backward
// (x, dy -> dx = dy·[x > 0], tfjs's ReluGrad convention at 0).
std::map<std::vector<int64_t>, std::unique_ptr<dnnl::primitive>>& reluCache() {
  static std::map<std::vector<int64_t>, std::unique_ptr<dnnl::primitive>> c;
  return c;
}

// relu(heap, kind, count, offsets: Float64Array (2 or 3 byte offsets))
napi_value ReluCall(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4) return Throw(env, "relu(heap, kind, count, offsets)");
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[0], &heap, &heapBytes) != napi_ok) return Throw(env, "relu: heap must be an ArrayBuffer");
  int32_t kind = -1;
  napi_get_value_int32(env, argv[1], &kind);
  if (kind != 0 && kind != 1) return Throw(env, "relu: kind must be 0 (forward) or 1 (backward)");
  int64_t count = 0;
  if (napi_get_value_int64(env, argv[2], &count) != napi_ok || count < 1 || count >= (int64_t(1) << 40)) return Throw(env, "relu: count must be a positive number");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  const size_t n = kind == 0 ? 2 : 3;
  if (napi_get_typedarray_info(env, argv[3], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array || length != n)
    return Throw(env, "relu: offsets must be a Float64Array of " + std::to_string(n));
  const double* off = static_cast<const double*>(data);
  const int64_t heapSize = static_cast<int64_t>(heapBytes);
  char* ptr[3] = {nullptr, nullptr, nullptr};
  for (size_t i = 0; i < n; i++) {
    const double o = off[i];
    if (!(o >= 0) || o != static_cast<double>(static_cast<int64_t>(o)) || static_cast<int64_t>(o) > heapSize - 4 * count) return Throw(env, "relu: a buffer lies outside the heap");
    ptr[i] = static_cast<char*>(heap) + static_cast<int64_t>(o);
  }
  try {
#if RPG_SETS_THREADS
    omp_set_num_threads(gThreads);
#endif
    const auto d = plain({count}, tag::a);
    std::vector<int64_t> key{gThreads, kind, count};
    auto it = reluCache().find(key);
    if (it == reluCache().end()) {
      dnnl::eltwise_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::eltwise_relu, d, 0.f);
      dnnl::eltwise_forward::primitive_desc fpd(fd, cpuEngine());
      std::unique_ptr<dnnl::primitive> p;
      if (kind == 0) p = std::make_unique<dnnl::eltwise_forward>(fpd);
      else {
        dnnl::eltwise_backward::desc bd(dnnl::algorithm::eltwise_relu, d, d, 0.f);
        p = std::make_unique<dnnl::eltwise_backward>(dnnl::eltwise_backward::primitive_desc(bd, cpuEngine(), fpd));
      }
      it = reluCache().emplace(key, std::move(p)).first;
    }
    auto m = [&](int i) { return memory(d, cpuEngine(), ptr[i]); };
    if (kind == 0) it->second->execute(cpuStream(), {{DNNL_ARG_SRC, m(0)}, {DNNL_ARG_DST, m(1)}});
    else it->second->execute(cpuStream(), {{DNNL_ARG_SRC, m(0)}, {DNNL_ARG_DIFF_DST, m(1)}, {DNNL_ARG_DIFF_SRC, m(2)}});
    cpuStream().wait();
  } catch (const dnnl::error& e) {
    return Throw(env, std::string("oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    return Throw(env, std::string("relu: ") + e.what());
  }
  return nullptr;
}

napi_value Threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_number ||
      napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 4096)
    return Throw(env, "threads(n): n must be a whole number from 1 to 4096");
  // Where the count cannot be set (a non-OpenMP oneDNN, or built without -fopenmp) the answer is
  // 0: oneDNN runs its own default.
  gThreads = RPG_SETS_THREADS ? n : 0;
  napi_value out;
  napi_create_int32(env, gThreads, &out);
  return out;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" + (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "threads") + ")";
  napi_value out;
  napi_create_string_utf8(env, s.c_str(), s.size(), &out);
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "conv2d", NAPI_AUTO_LENGTH, Conv2d, nullptr, &fn);
  napi_set_named_property(env, exports, "conv2d", fn);
  napi_create_function(env, "batchNorm", NAPI_AUTO_LENGTH, BatchNormCall, nullptr, &fn);
  napi_set_named_property(env, exports, "batchNorm", fn);
  napi_create_function(env, "relu", NAPI_AUTO_LENGTH, ReluCall, nullptr, &fn);
  napi_set_named_property(env, exports, "relu", fn);
  napi_create_function(env, "threads", NAPI_AUTO_LENGTH, Threads, nullptr, &fn);
  napi_set_named_property(env, exports, "threads", fn);
  napi_create_function(env, "version", NAPI_AUTO_LENGTH, Version, nullptr, &fn);
  napi_set_named_property(env, exports, "version", fn);
  return exports;
}
