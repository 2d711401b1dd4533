// Elementwise kernels: binary ops over a [rows, cols] grid (each operand full, one row repeated
// down the rows, one column repeated across the columns, or a scalar: every broadcast a training
// step makes), unary ops, and softmax over the last axis. Memory-bound loops, so they are plain
// OpenMP over fixed chunks; every element's result is independent of the thread count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"

namespace tn {

namespace {

// The numbering of src/index.ts' BinaryOp, Form and UnaryOp.
enum class Binary : int64_t { add, sub, mul, div, maximum, minimum, squaredDifference };
enum Form : int64_t { kFull = 0, kRow = 1, kColumn = 2, kScalar = 3 };
enum class Unary : int64_t { relu, step, exp, log, neg, sqrt, rsqrt, square, sigmoid, abs };

// Elements per parallel chunk: below this a thread costs more than it saves.
constexpr int64_t kChunk = 16384;

constexpr float nan = std::numeric_limits<float>::quiet_NaN();

// tfjs' Maximum/Minimum propagate NaN (Math.max), unlike std::max.
// (| rather than ||: no branch, so the loops vectorize.)
inline float maximum(float a, float b) { return (a != a) | (b != b) ? nan : (a > b ? a : b); }
inline float minimum(float a, float b) { return (a != a) | (b != b) ? nan : (a < b ? a : b); }

template <typename F>
void binaryLoop(F f, const float* a, bool aVector, const float* b, bool bVector, float* out, int64_t n) {
  if (aVector && bVector)
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  else if (aVector) {
    const float bv = *b;
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], bv);
  } else if (bVector) {
    const float av = *a;
    for (int64_t i = 0; i < n; i++) out[i] = f(av, b[i]);
  } else {
    const float v = f(*a, *b);
    std::fill(out, out + n, v);
  }
}

template <typename F>
void binaryGrid(F f, const float* a, Form aForm, const float* b, Form bForm, float* out, int64_t rows, int64_t cols) {
  const bool flat = (aForm == kFull || aForm == kScalar) && (bForm == kFull || bForm == kScalar);
  if (flat) {
    const int64_t n = rows * cols, chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t k = 0; k < chunks; k++) {
      const int64_t first = k * kChunk, count = std::min(kChunk, n - first);
      binaryLoop(f, aForm == kFull ? a + first : a, aForm == kFull, bForm == kFull ? b + first : b, bForm == kFull, out + first, count);
    }
    return;
  }
  // Where row r of an operand starts, and whether it varies along the row.
  const auto at = [cols](const float* p, Form form, int64_t r) {
    switch (form) {
      case kFull: return p + r * cols;
      case kColumn: return p + r;
      default: return p;
    }
  };
  const bool aVector = aForm == kFull || aForm == kRow, bVector = bForm == kFull || bForm == kRow;
  const int64_t per = std::max<int64_t>(1, kChunk / cols), chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t r = k * per; r < std::min(rows, (k + 1) * per); r++)
      binaryLoop(f, at(a, aForm, r), aVector, at(b, bForm, r), bVector, out + r * cols, cols);
}

// One chunk's loop in a function of its own: inside the parallel region f's captures would be
// reloaded through a pointer every element and the loop would not vectorize.
template <typename F>
void unaryChunk(F f, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = f(x[i]);
}

template <typename F>
void unaryLoop(F f, const float* x, float* y, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) unaryChunk(f, x + k * kChunk, y + k * kChunk, std::min(kChunk, n - k * kChunk));
}

int64_t operandSize(Form form, int64_t rows, int64_t cols) {
  switch (form) {
    case kFull: return rows * cols;
    case kRow: return cols;
    case kColumn: return rows;
    case kScalar: return 1;
  }
  throw std::invalid_argument("operand form " + std::to_string(form));
}

}  // namespace

// binary(heap, op, a, aForm, b, bForm, out, rows, cols)
// out[r, c] = a ∘ b on a [rows, cols] grid; an operand's form says which of its elements meets
// (r, c): full a[r·cols + c], row a[c], column a[r], scalar a[0].
std::string binary(const Call& c) {
  const int64_t op = c.i(1), rows = c.i(7), cols = c.i(8);
  const auto aForm = static_cast<Form>(c.i(3)), bForm = static_cast<Form>(c.i(5));
  if (rows < 1 || cols < 1) throw std::invalid_argument("binary op on an empty grid");
  const float* a = c.f32(2, operandSize(aForm, rows, cols), "a");
  const float* b = c.f32(4, operandSize(bForm, rows, cols), "b");
  float* out = c.f32(6, rows * cols, "out");
  const auto run = [&](auto f) { binaryGrid(f, a, aForm, b, bForm, out, rows, cols); };
  switch (static_cast<Binary>(op)) {
    case Binary::add: run([](float x, float y) { return x + y; }); break;
    case Binary::sub: run([](float x, float y) { return x - y; }); break;
    case Binary::mul: run([](float x, float y) { return x * y; }); break;
    case Binary::div: run([](float x, float y) { return x / y; }); break;
    case Binary::maximum: run(maximum); break;
    case Binary::minimum: run(minimum); break;
    case Binary::squaredDifference: run([](float x, float y) { return (x - y) * (x - y); }); break;
    default: throw Unsupported("binary op " + std::to_string(op));
  }
  return {};
}

// unary(heap, op, x, y, n, alpha): y = f(x) elementwise; alpha is Step's value where x ≤ 0.
std::string unary(const Call& c) {
  const int64_t op = c.i(1), n = c.i(4);
  const float alpha = static_cast<float>(c.d(5));
  if (n < 1) throw std::invalid_argument("unary op on an empty tensor");
  const float* x = c.f32(2, n, "x");
  float* y = c.f32(3, n, "y");
  const auto run = [&](auto f) { unaryLoop(f, x, y, n); };
  switch (static_cast<Unary>(op)) {
    case Unary::relu: run([](float v) { return v < 0.f ? 0.f : v; }); break;
    case Unary::step: run([alpha](float v) { return v != v ? nan : (v > 0.f ? 1.f : alpha); }); break;
    case Unary::exp: run([](float v) { return std::exp(v); }); break;
    case Unary::log: run([](float v) { return std::log(v); }); break;
    case Unary::neg: run([](float v) { return -v; }); break;
    case Unary::sqrt: run([](float v) { return std::sqrt(v); }); break;
    case Unary::rsqrt: run([](float v) { return 1.f / std::sqrt(v); }); break;
    case Unary::square: run([](float v) { return v * v; }); break;
    case Unary::sigmoid: run([](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case Unary::abs: run([](float v) { return std::fabs(v); }); break;
    default: throw Unsupported("unary op " + std::to_string(op));
  }
  return {};
}

// softmax(heap, x, y, rows, cols): y = softmax over the last axis of x [rows, cols], shifted by
// each row's maximum; the row sum is taken in float64.
std::string softmax(const Call& c) {
  const int64_t rows = c.i(3), cols = c.i(4);
  if (rows < 1 || cols < 1) throw std::invalid_argument("softmax of an empty tensor");
  const float* x = c.f32(1, rows * cols, "x");
  float* y = c.f32(2, rows * cols, "y");
  const int64_t per = std::max<int64_t>(1, kChunk / cols), chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t r = k * per; r < std::min(rows, (k + 1) * per); r++) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float top = *std::max_element(xr, xr + cols);
      double sum = 0;
      for (int64_t j = 0; j < cols; j++) sum += (yr[j] = std::exp(xr[j] - top));
      const float total = static_cast<float>(sum);
      for (int64_t j = 0; j < cols; j++) yr[j] /= total;
    }
  return {};
}

}  // namespace tn
