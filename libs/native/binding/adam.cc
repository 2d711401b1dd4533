// The Adam update over the trainer's flat parameter vector (JS Float32Arrays, not the wasm heap).
// Every step is the same float64 arithmetic as the JavaScript loop it replaces (parallel/adam.ts),
// rounded to float32 at the same points, so replicas on either path stay bit-identical. Compiled
// for baseline x86-64 (no target_clones): fused multiply-adds would round differently.

#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace tn {

namespace {

void adamRange(float* w, const float* g, float* m, float* v, int64_t n, double lr, double b1, double b2, double eps, double decay,
               double c1, double c2) {
  for (int64_t i = 0; i < n; i++) {
    const double gi = g[i];
    m[i] = static_cast<float>(b1 * m[i] + (1 - b1) * gi);
    v[i] = static_cast<float>(b2 * v[i] + (1 - b2) * gi * gi);
    const double mi = m[i], vi = v[i], wi = w[i];
    w[i] = static_cast<float>(wi - lr * (mi / c1 / (std::sqrt(vi / c2) + eps) + decay * wi));
  }
}

}  // namespace

// adam(heap, weights, grads, m, v, start, end, lr, beta1, beta2, epsilon, weightDecay, c1, c2)
// heap is unused (the arrays are Float32Arrays of their own); updates [start, end); c1 and c2 are
// the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ, computed by the caller.
std::string adam(const Call& c) {
  size_t lengths[4];
  float* w = floatArray(c.env(), c.arg(1), &lengths[0], "weights");
  const float* g = floatArray(c.env(), c.arg(2), &lengths[1], "grads");
  float* m = floatArray(c.env(), c.arg(3), &lengths[2], "m");
  float* v = floatArray(c.env(), c.arg(4), &lengths[3], "v");
  const int64_t start = c.i(5), end = c.i(6);
  for (const size_t length : lengths)
    if (start < 0 || end < start || static_cast<size_t>(end) > length)
      throw std::out_of_range("adam: range [" + std::to_string(start) + ", " + std::to_string(end) + ") lies outside an array of " +
                              std::to_string(length));
  const double lr = c.d(7), b1 = c.d(8), b2 = c.d(9), eps = c.d(10), decay = c.d(11), c1 = c.d(12), c2 = c.d(13);
  const int64_t chunk = 16384, chunks = (end - start + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    const int64_t first = start + k * chunk, n = std::min(chunk, end - first);
    adamRange(w + first, g + first, m + first, v + first, n, lr, b1, b2, eps, decay, c1, c2);
  }
  return {};
}

}  // namespace tn
