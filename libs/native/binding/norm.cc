// Batch normalization over the last axis in training mode (the zoo's ghost BatchNorm): per-channel
// statistics of this call, normalization with an optional fused ReLU, and the backward pass, each
// as few passes over memory as possible. Sums are accumulated in float64 per fixed chunk of rows
// and combined in chunk order, so they do not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace tn {

namespace {

// Σ a and Σ a·b per channel over `rows` rows (b = nullptr: Σ a²); a is masked by mask > 0 when given.
TN_VECTOR void channelSums(const float* a, const float* b, const float* mask, int64_t rows, int64_t C, double* sum,
                           double* dot) {
  std::fill(sum, sum + C, 0.0);
  std::fill(dot, dot + C, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    const float* ar = a + r * C;
    const float* br = b ? b + r * C : ar;
    const float* mr = mask ? mask + r * C : nullptr;
    for (int64_t c = 0; c < C; c++) {
      const double v = mr && !(mr[c] > 0.f) ? 0.0 : ar[c];
      sum[c] += v;
      dot[c] += v * br[c];
    }
  }
}

// Per-channel Σ a and Σ a·b over all rows: fixed chunks in parallel, then combined in order.
void sums(const float* a, const float* b, const float* mask, int64_t rows, int64_t C, std::vector<double>& sum,
          std::vector<double>& dot) {
  const int64_t chunk = chunkRows(C);
  const int64_t chunks = (rows + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<size_t>(chunks * C * 2));
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++) {
    const int64_t first = k * chunk, count = std::min(chunk, rows - first);
    channelSums(a + first * C, b ? b + first * C : nullptr, mask ? mask + first * C : nullptr, count, C,
                &partial[k * C * 2], &partial[k * C * 2 + C]);
  }
  sum.assign(C, 0.0);
  dot.assign(C, 0.0);
  for (int64_t k = 0; k < chunks; k++)
    for (int64_t c = 0; c < C; c++) {
      sum[c] += partial[k * C * 2 + c];
      dot[c] += partial[k * C * 2 + C + c];
    }
}

// y = x·scale + shift per channel, then ReLU if asked.
TN_VECTOR void affineRows(const float* x, const float* scale, const float* shift, bool relu, int64_t rows, int64_t C,
                          float* y) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; c++) {
      const float v = xr[c] * scale[c] + shift[c];
      yr[c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
  }
}

// dx = dA·scale + x·k + offset per channel, dA = dy masked by y > 0 when y is given.
TN_VECTOR void gradientRows(const float* dy, const float* x, const float* y, const float* scale, const float* k,
                            const float* offset, int64_t rows, int64_t C, float* dx) {
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
    const float* yr = y ? y + r * C : nullptr;
    float* dxr = dx + r * C;
    for (int64_t c = 0; c < C; c++) {
      const float dA = yr && !(yr[c] > 0.f) ? 0.f : dyr[c];
      dxr[c] = dA * scale[c] + xr[c] * k[c] + offset[c];
    }
  }
}

template <typename F>
void parallelRows(int64_t rows, int64_t C, F body) {
  const int64_t chunk = chunkRows(C);
  const int64_t chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < chunks; k++) body(k * chunk, std::min(chunk, rows - k * chunk));
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
  std::vector<double> sum, squares;
  sums(x, nullptr, nullptr, rows, C, sum, squares);
  std::vector<float> scale(C), shift(C);
  for (int64_t k = 0; k < C; k++) {
    const double m = sum[k] / rows;
    mean[k] = static_cast<float>(m);
    variance[k] = static_cast<float>(std::max(0.0, squares[k] / rows - m * m));
    scale[k] = gamma[k] / std::sqrt(variance[k] + epsilon);
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  parallelRows(rows, C, [&](int64_t first, int64_t count) {
    affineRows(x + first * C, scale.data(), shift.data(), relu, count, C, y + first * C);
  });
  return {};
}

// batchNormBackward(heap, dy, x, y, mean, variance, gamma, dx, dGamma, dBeta, rows, C, epsilon)
// The gradient of batchNormForward at x with the statistics it computed; y (the forward output)
// is given (≥ 0) when ReLU was fused and masks dy where the output was clipped, else -1.
std::string batchNormBackward(const Call& c) {
  const int64_t rows = c.i(10), C = c.i(11);
  const float epsilon = static_cast<float>(c.d(12));
  const int64_t n = rows * C;
  if (rows < 1 || C < 1) throw std::invalid_argument("batch norm of an empty tensor");
  const float* dy = c.f32(1, n, "dy");
  const float* x = c.f32(2, n, "x");
  const float* y = c.f32opt(3, n, "y");
  const float* mean = c.f32(4, C, "mean");
  const float* variance = c.f32(5, C, "variance");
  const float* gamma = c.f32(6, C, "gamma");
  float* dx = c.f32(7, n, "dx");
  float* dGamma = c.f32(8, C, "dGamma");
  float* dBeta = c.f32(9, C, "dBeta");
  std::vector<double> sumDA, sumDAx;
  sums(dy, x, y, rows, C, sumDA, sumDAx);
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
  parallelRows(rows, C, [&](int64_t first, int64_t count) {
    gradientRows(dy + first * C, x + first * C, y ? y + first * C : nullptr, scale.data(), k.data(), offset.data(), count,
                 C, dx + first * C);
  });
  return {};
}

}  // namespace tn
