// Shared plumbing of the addon: reading a kernel's arguments from Node-API, the oneDNN engine and
// stream of the calling thread, and the helpers the hand-written kernels use.
#pragma once

#include <node_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace tn {

// A configuration this build cannot run; the TypeScript side catches it (error code
// "UNSUPPORTED") and falls back to the wasm kernel.
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One kernel call: argv[0] is the heap (an ArrayBuffer, in practice the tfjs wasm memory), the
// rest are numbers; tensors are byte offsets into the heap. Every tensor is bounds-checked.
class Call {
 public:
  Call(napi_env env, napi_callback_info info, size_t arity);
  int64_t i(size_t k) const;
  double d(size_t k) const;
  float* f32(size_t k, int64_t count, const char* what) const;
  // An optional tensor: a negative offset means absent.
  float* f32opt(size_t k, int64_t count, const char* what) const;
  napi_env env() const { return env_; }
  napi_value arg(size_t k) const { return argv_[k]; }

 private:
  napi_env env_;
  std::vector<napi_value> argv_;
  char* heap_ = nullptr;
  size_t heapBytes_ = 0;
};

// A Float32Array argument outside the heap (Adam's JS-side vectors).
float* floatArray(napi_env env, napi_value v, size_t* length, const char* what);

dnnl::engine& engine();
// One stream per thread: worker threads of one process share the addon.
dnnl::stream& stream();

// Threads this calling thread's OpenMP regions (and new oneDNN primitives) use.
int threads();

// Activations fused into convolutions and matmuls (tfjs' `activation` attribute), as oneDNN post-ops.
enum Activation : int64_t { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeakyRelu = 5 };
dnnl::primitive_attr activationAttr(int64_t activation, float alpha);

// 64-byte aligned scratch memory owned by a cached primitive (e.g. reordered weights).
class AlignedBuffer {
 public:
  void* reserve(size_t bytes);
  ~AlignedBuffer();

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Primitives are expensive to create and cheap to run: each kernel keeps the ones it made, per
// thread (worker threads share the addon), keyed by everything that shaped them.
template <typename Plan>
class PlanCache {
 public:
  template <typename Make>
  Plan& get(const std::vector<int64_t>& key, Make make) {
    auto it = plans_.find(key);
    if (it != plans_.end()) return *it->second;
    // Shapes come from a handful of models; a run that keeps producing new ones (varying
    // inference sizes) starts over rather than grow without bound.
    if (plans_.size() >= 512) plans_.clear();
    return *plans_.emplace(key, make()).first->second;
  }

 private:
  std::map<std::vector<int64_t>, std::unique_ptr<Plan>> plans_;
};

// Fixed-size row chunks for reductions: partial sums are combined in chunk order, so results do not
// depend on how many threads ran them.
inline int64_t chunkRows(int64_t columns) {
  const int64_t target = 16384;
  return columns >= target ? 1 : target / columns;
}

}  // namespace tn

// Hot loops are compiled for several instruction sets and picked at load time, so one build runs on
// any x86-64 and still uses AVX-512 where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TN_VECTOR __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TN_VECTOR
#endif
