// Batch normalization over the last axis in training mode (the zoo's ghost BatchNorm): per-channel
// statistics of this call, normalization with an optional fused ReLU, and the backward pass, each
// as few passes over memory as possible. Sums are accumulated in float64 per fixed chunk of rows
// and combined in chunk order, so they do not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace tn {

namespace {

// The loops below run over rows of at least kWide values so that they vectorize for any channel
// count: with C < kWide channels, m = ⌈kWide / C⌉ consecutive rows are one "wide row" of L = m·C
// values and per-position results are folded back onto the channels. Masks are applied by
// multiplying with (mask > 0): a select on the way to float64 stops GCC from vectorizing, which
// made these loops 10× slower than memory.
constexpr int64_t kWide = 64;

struct Layout {
  int64_t C, m, L, chunk;  // channels, rows per wide row, wide-row length, rows per fixed chunk
  explicit Layout(int64_t channels)
      : C(channels), m(channels >= kWide ? 1 : (kWide + channels - 1) / channels), L(m * channels),
        chunk(std::max<int64_t>(m, chunkRows(channels) / m * m)) {}
  int64_t chunks(int64_t rows) const { return (rows + chunk - 1) / chunk; }
};

// The forward affine map, shared so that the backward pass recomputes exactly the forward's values.
inline float affine(float x, float scale, float shift) { return x * scale + shift; }

// Σ a·keep and Σ a·keep·b per position over `rows` rows of length L, keep = (b·scale + shift > 0)
// when Masked: the fused ReLU let the input through exactly there.
template <bool Masked>
TN_VECTOR void positionSums(const float* __restrict a, const float* __restrict b, const float* __restrict scale,
                            const float* __restrict shift, int64_t rows, int64_t L, double* __restrict sum,
                            double* __restrict dot) {
  std::fill(sum, sum + L, 0.0);
  std::fill(dot, dot + L, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * L;
    const float* br = b + r * L;
    for (int64_t p = 0; p < L; p++) {
      const double v = Masked ? ar[p] * static_cast<float>(affine(br[p], scale[p], shift[p]) > 0.f) : ar[p];
      sum[p] += v;
      dot[p] += v * br[p];
    }
  }
}

// Per-channel Σ a·keep and Σ a·keep·b over all rows (b = a: Σ a²), keep from the wide forward
// coefficients when given: fixed chunks in parallel, each folded onto the channels, then combined in
// chunk order, so the sums do not depend on the thread count.
void sums(const float* a, const float* b, const float* scale, const float* shift, int64_t rows, const Layout& g,
          std::vector<double>& sum, std::vector<double>& dot) {
  const int64_t C = g.C, chunks = g.chunks(rows);
  std::vector<double> partial(static_cast<size_t>(chunks * C * 2), 0.0);
#pragma omp parallel
  {
    std::vector<double> s(g.L), d(g.L);
#pragma omp for schedule(static)
    for (int64_t k = 0; k < chunks; k++) {
      const int64_t first = k * g.chunk, count = std::min(g.chunk, rows - first);
      double* ps = &partial[k * C * 2];
      double* pd = ps + C;
      // whole wide rows, then the chunk's last count % m rows as one shorter row
      const int64_t wide = count / g.m, rest = (count % g.m) * C;
      const int64_t parts[2][2] = {{wide, g.L}, {1, rest}};
      int64_t offset = first * C;
      for (const auto& [n, length] : parts) {
        if (n == 0 || length == 0) continue;
        if (scale)
          positionSums<true>(a + offset, b + offset, scale, shift, n, length, s.data(), d.data());
        else
          positionSums<false>(a + offset, b + offset, nullptr, nullptr, n, length, s.data(), d.data());
        for (int64_t p = 0; p < length; p++) {
          ps[p % C] += s[p];
          pd[p % C] += d[p];
        }
        offset += n * length;
      }
    }
  }
  sum.assign(C, 0.0);
  dot.assign(C, 0.0);
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t c = 0; c < C; c++) {
      sum[c] += partial[k * C * 2 + c];
      dot[c] += partial[k * C * 2 + C + c];
    }
}

// Per-channel coefficients repeated along a wide row.
std::vector<float> widen(const std::vector<float>& perChannel, const Layout& g) {
  std::vector<float> out(g.L);
  for (int64_t p = 0; p < g.L; p++) out[p] = perChannel[p % g.C];
  return out;
}

// y = x·scale + shift per position, then ReLU if asked.
template <bool Relu>
TN_VECTOR void affineRows(const float* __restrict x, const float* __restrict scale, const float* __restrict shift,
                          int64_t n, int64_t L, float* __restrict y) {
  for (int64_t r = 0; r < n; r++) {
    const float* xr = x + r * L;
    float* yr = y + r * L;
    for (int64_t p = 0; p < L; p++) {
      const float v = affine(xr[p], scale[p], shift[p]);
      yr[p] = Relu ? std::max(v, 0.f) : v;
    }
  }
}

// dx = dA·scale + x·k + offset per position, dA = dy·(x·forwardScale + forwardShift > 0) when Masked.
template <bool Masked>
TN_VECTOR void gradientRows(const float* __restrict dy, const float* __restrict x, const float* __restrict forwardScale,
                            const float* __restrict forwardShift, const float* __restrict scale, const float* __restrict k,
                            const float* __restrict offset, int64_t n, int64_t L, float* __restrict dx) {
  for (int64_t r = 0; r < n; r++) {
    const float* dyr = dy + r * L;
    const float* xr = x + r * L;
    float* dxr = dx + r * L;
    for (int64_t p = 0; p < L; p++) {
      const float dA = Masked ? dyr[p] * static_cast<float>(affine(xr[p], forwardScale[p], forwardShift[p]) > 0.f) : dyr[p];
      dxr[p] = dA * scale[p] + xr[p] * k[p] + offset[p];
    }
  }
}

// body(offset, wideRows, length) over every chunk in parallel: its whole wide rows, then its rest.
template <typename F>
void parallelRows(int64_t rows, const Layout& g, F body) {
  const int64_t chunks = g.chunks(rows);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++) {
    const int64_t first = k * g.chunk, count = std::min(g.chunk, rows - first);
    const int64_t wide = count / g.m, rest = (count % g.m) * g.C;
    if (wide > 0) body(first * g.C, wide, g.L);
    if (rest > 0) body((first + wide * g.m) * g.C, 1, rest);
  }
}

// The forward's per-channel y = x·scale + shift, computed one way for both directions.
void forwardCoefficients(const float* mean, const float* variance, const float* gamma, const float* beta, float epsilon,
                         int64_t C, std::vector<float>& scale, std::vector<float>& shift) {
  scale.resize(C);
  shift.resize(C);
  for (int64_t k = 0; k < C; k++) {
    scale[k] = gamma[k] / std::sqrt(variance[k] + epsilon);
    shift[k] = beta[k] - mean[k] * scale[k];
  }
}

}  // namespace

// batchNormForward(heap, x, gamma, beta, y, mean, variance, rows, C, epsilon, relu)
// Statistics over the rows of x [rows, C] (biased variance, as tf.moments), written to mean and
// variance; y = relu?(γ·(x − mean)/√(variance + ε) + β).
std::string batchNormForward(const Call& c) {
  const int64_t rows = c.i(7), C = c.i(8);
  const float epsilon = static_cast<float>(c.d(9));
  const bool relu = c.i(10) != 0;
  const int64_t n = rows * C;
  if (rows < 1 || C < 1) throw std::invalid_argument("batch norm of an empty tensor");
  const float* x = c.f32(1, n, "x");
  const float* gamma = c.f32(2, C, "gamma");
  const float* beta = c.f32(3, C, "beta");
  float* y = c.f32(4, n, "y");
  float* mean = c.f32(5, C, "mean");
  float* variance = c.f32(6, C, "variance");
  const Layout g(C);
  std::vector<double> sum, squares;
  sums(x, x, nullptr, nullptr, rows, g, sum, squares);
  for (int64_t k = 0; k < C; k++) {
    const double m = sum[k] / rows;
    mean[k] = static_cast<float>(m);
    variance[k] = static_cast<float>(std::max(0.0, squares[k] / rows - m * m));
  }
  std::vector<float> scale, shift;
  forwardCoefficients(mean, variance, gamma, beta, epsilon, C, scale, shift);
  const std::vector<float> wideScale = widen(scale, g), wideShift = widen(shift, g);
  parallelRows(rows, g, [&](int64_t offset, int64_t n, int64_t length) {
    if (relu)
      affineRows<true>(x + offset, wideScale.data(), wideShift.data(), n, length, y + offset);
    else
      affineRows<false>(x + offset, wideScale.data(), wideShift.data(), n, length, y + offset);
  });
  return {};
}

// batchNormBackward(heap, dy, x, beta, mean, variance, gamma, dx, dGamma, dBeta, rows, C, epsilon)
// The gradient of batchNormForward at x with the statistics it computed. β is given (≥ 0) when
// ReLU was fused, else -1: the ReLU mask is recomputed from x rather than read from the forward
// output: the two passes read x and dy, not x, dy and y (5 full-size streams instead of 7).
std::string batchNormBackward(const Call& c) {
  const int64_t rows = c.i(10), C = c.i(11);
  const float epsilon = static_cast<float>(c.d(12));
  const int64_t n = rows * C;
  if (rows < 1 || C < 1) throw std::invalid_argument("batch norm of an empty tensor");
  const float* dy = c.f32(1, n, "dy");
  const float* x = c.f32(2, n, "x");
  const float* beta = c.f32opt(3, C, "beta");
  const float* mean = c.f32(4, C, "mean");
  const float* variance = c.f32(5, C, "variance");
  const float* gamma = c.f32(6, C, "gamma");
  float* dx = c.f32(7, n, "dx");
  float* dGamma = c.f32(8, C, "dGamma");
  float* dBeta = c.f32(9, C, "dBeta");
  const Layout g(C);
  std::vector<float> forwardScale, forwardShift, wideForwardScale, wideForwardShift;
  if (beta) {
    forwardCoefficients(mean, variance, gamma, beta, epsilon, C, forwardScale, forwardShift);
    wideForwardScale = widen(forwardScale, g);
    wideForwardShift = widen(forwardShift, g);
  }
  const float* maskScale = beta ? wideForwardScale.data() : nullptr;
  const float* maskShift = beta ? wideForwardShift.data() : nullptr;
  std::vector<double> sumDA, sumDAx;
  sums(dy, x, maskScale, maskShift, rows, g, sumDA, sumDAx);
  std::vector<float> scale(C), k(C), offset(C);
  for (int64_t ch = 0; ch < C; ch++) {
    const float invStd = 1.f / std::sqrt(variance[ch] + epsilon);
    scale[ch] = gamma[ch] * invStd;
    dBeta[ch] = static_cast<float>(sumDA[ch]);
    dGamma[ch] = static_cast<float>((sumDAx[ch] - mean[ch] * sumDA[ch]) * invStd);
    // dx = γ/σ · (dA − ΣdA/n − x̂ Σ(dA·x̂)/n), written as dA·scale + x·k + offset per channel.
    k[ch] = -scale[ch] * dGamma[ch] * invStd / rows;
    offset[ch] = -scale[ch] * dBeta[ch] / rows - k[ch] * mean[ch];
  }
  const std::vector<float> wideScale = widen(scale, g), wideK = widen(k, g), wideOffset = widen(offset, g);
  parallelRows(rows, g, [&](int64_t at, int64_t n, int64_t length) {
    if (beta)
      gradientRows<true>(dy + at, x + at, maskScale, maskShift, wideScale.data(), wideK.data(), wideOffset.data(), n,
                         length, dx + at);
    else
      gradientRows<false>(dy + at, x + at, nullptr, nullptr, wideScale.data(), wideK.data(), wideOffset.data(), n, length,
                          dx + at);
  });
  return {};
}

}  // namespace tn
