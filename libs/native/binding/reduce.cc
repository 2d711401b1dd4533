// Reductions over one contiguous block of axes: x viewed as [outer, r, inner] → out [outer, inner]
// (the last axis: inner = 1; per-channel sums over N, H, W: outer = 1; everything: both 1). The
// work is cut into fixed chunks of r whose partial results are combined in chunk order, so the
// result does not depend on the thread count; sums run in float64, like the cpu backend's.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace tn {

namespace {

// The numbering of src/index.ts' ReduceOp.
enum class Reduce : int64_t { sum, mean, max, min };

constexpr int64_t kChunk = 16384;

// Max/min as the cpu backend takes them: a NaN, once met, is the result.
inline double pick(Reduce op, double acc, double v) {
  if (v != v) return v;
  if (acc != acc) return acc;
  return op == Reduce::max ? (v > acc ? v : acc) : (v < acc ? v : acc);
}

// Sums `count` rows (each `inner` wide) into acc: 8 rows at a time into 8 · inner float64 lanes,
// which vectorizes without reordering any one lane's additions, then the lanes in order.
TN_VECTOR void sumRows(const float* x, int64_t count, int64_t inner, double* acc) {
  constexpr int64_t kLanes = 8;
  const int64_t block = kLanes * inner, groups = count / kLanes;
  std::vector<double> lanes(static_cast<size_t>(block), 0.0);
  for (int64_t g = 0; g < groups; g++) {
    const float* rows = x + g * block;
    for (int64_t t = 0; t < block; t++) lanes[t] += rows[t];
  }
  for (int64_t t = 0; t < block; t++) acc[t % inner] += lanes[t];
  for (int64_t k = groups * kLanes; k < count; k++)
    for (int64_t j = 0; j < inner; j++) acc[j] += x[k * inner + j];
}

// Folds `count` rows (each `inner` wide) into acc.
void fold(Reduce op, const float* x, int64_t count, int64_t inner, double* acc) {
  if (op == Reduce::sum || op == Reduce::mean) return sumRows(x, count, inner, acc);
  for (int64_t k = 0; k < count; k++) {
    const float* row = x + k * inner;
    for (int64_t j = 0; j < inner; j++) acc[j] = pick(op, acc[j], row[j]);
  }
}

}  // namespace

// reduce(heap, op, x, out, outer, r, inner): out[o, j] = op over k of x[o, k, j].
std::string reduce(const Call& c) {
  const auto op = static_cast<Reduce>(c.i(1));
  const int64_t outer = c.i(4), r = c.i(5), inner = c.i(6);
  if (op != Reduce::sum && op != Reduce::mean && op != Reduce::max && op != Reduce::min) throw Unsupported("reduce op " + std::to_string(c.i(1)));
  if (outer < 1 || r < 1 || inner < 1) throw std::invalid_argument("reduction of an empty tensor");
  const float* x = c.f32(2, outer * r * inner, "x");
  float* out = c.f32(3, outer * inner, "out");
  const int64_t rowsPerChunk = std::max<int64_t>(1, kChunk / inner), chunks = (r + rowsPerChunk - 1) / rowsPerChunk;
  const double start = op == Reduce::max   ? -std::numeric_limits<double>::infinity()
                       : op == Reduce::min ? std::numeric_limits<double>::infinity()
                                           : 0.0;
  const bool sum = op == Reduce::sum || op == Reduce::mean;
  const auto finish = [&](double acc) { return static_cast<float>(op == Reduce::mean ? acc / static_cast<double>(r) : acc); };
  if (chunks == 1) {
    // Short reductions (softmax's classes): straight into out, blocks of outer in parallel.
    if (inner == 1 && sum) {
#pragma omp parallel for schedule(static) if (outer * r > kChunk)
      for (int64_t o = 0; o < outer; o++) {
        double acc = 0;
        for (int64_t k = 0; k < r; k++) acc += x[o * r + k];
        out[o] = finish(acc);
      }
      return {};
    }
#pragma omp parallel if (outer * r * inner > kChunk)
    {
      std::vector<double> acc(static_cast<size_t>(inner));
#pragma omp for schedule(static)
      for (int64_t o = 0; o < outer; o++) {
        std::fill(acc.begin(), acc.end(), start);
        fold(op, x + o * r * inner, r, inner, acc.data());
        for (int64_t j = 0; j < inner; j++) out[o * inner + j] = finish(acc[j]);
      }
    }
    return {};
  }
  std::vector<double> partial(static_cast<size_t>(outer * chunks * inner), start);
#pragma omp parallel for schedule(static) if (outer * chunks > 1)
  for (int64_t t = 0; t < outer * chunks; t++) {
    const int64_t o = t / chunks, first = (t % chunks) * rowsPerChunk, count = std::min(rowsPerChunk, r - first);
    fold(op, x + (o * r + first) * inner, count, inner, &partial[t * inner]);
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++) {
      double acc = start;
      for (int64_t k = 0; k < chunks; k++) {
        const double v = partial[(o * chunks + k) * inner + j];
        acc = sum ? acc + v : pick(op, acc, v);
      }
      out[o * inner + j] = finish(acc);
    }
  return {};
}

}  // namespace tn
