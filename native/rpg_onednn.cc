// Optional native convolutions for the trainer: oneDNN (the library PyTorch's CPU build runs its
// convolutions on) computing conv forward, input gradient and filter gradient in place on
// tfjs-wasm's heap. tfjs-wasm's own convolutions are XNNPACK's 4-wide WebAssembly SIMD without
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
#include <node_api.h>
#include <dnnl.hpp>

#if DNNL_VERSION_MAJOR != 2
#error "rpg_onednn.cc is written against the oneDNN 2.x API (Debian/Ubuntu libdnnl-dev 2.x)"
#endif

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

// Primitives are JIT-compiled on creation (milliseconds): one per (kind, shape), kept.
std::map<std::vector<int64_t>, Prepared>& cache() {
  static std::map<std::vector<int64_t>, Prepared> c;
  return c;
}

void run(int kind, const Geometry& g, char* base, int64_t a, int64_t b, int64_t out) {
  std::vector<int64_t> key{kind, g.n, g.h, g.w, g.cin, g.kh, g.kw, g.cout, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr};
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
  napi_create_function(env, "version", NAPI_AUTO_LENGTH, Version, nullptr, &fn);
  napi_set_named_property(env, exports, "version", fn);
  return exports;
}
