// Max pooling of NHWC images and its gradient, with tfjs' window rule (stride, padding, dilation):
// the maximum of each window is its first strictly greatest element, as in the cpu backend, so
// ties and NaN resolve the same way, and the gradient goes to exactly that element (overlapping
// windows add up). Images are independent, so the gradient runs one image per task, race-free.
#include <algorithm>
#include <limits>

#include "kernels.h"

namespace tn {

namespace {

struct Pool {
  int64_t batch, inH, inW, C, outH, outW, fH, fW, sH, sW, padTop, padLeft, dH, dW;
};

// Arguments first..first+13 of a pooling call.
Pool pool(const Call& c, size_t first) {
  Pool p{};
  int64_t* fields[] = {&p.batch, &p.inH, &p.inW, &p.C, &p.outH, &p.outW, &p.fH, &p.fW, &p.sH, &p.sW, &p.padTop, &p.padLeft, &p.dH, &p.dW};
  for (size_t k = 0; k < 14; k++) *fields[k] = c.i(first + k);
  if (p.batch < 1 || p.inH < 1 || p.inW < 1 || p.C < 1 || p.outH < 1 || p.outW < 1) throw std::invalid_argument("pooling of an empty tensor");
  if (p.fH < 1 || p.fW < 1 || p.sH < 1 || p.sW < 1 || p.dH < 1 || p.dW < 1) throw std::invalid_argument("pooling window, stride or dilation below 1");
  return p;
}

// For output pixel (r, k) of image x: each channel's maximum in `best` and, when `at` is given, the
// window tap (i · fW + j) it came from (-1 for a window without valid pixels). Branch-free selects
// of same-width values, so the channel loops vectorize.
TN_VECTOR void windowMax(const Pool& p, const float* x, int64_t r, int64_t k, float* best, int32_t* at) {
  std::fill(best, best + p.C, -std::numeric_limits<float>::infinity());
  if (at) std::fill(at, at + p.C, -1);
  for (int64_t i = 0; i < p.fH; i++) {
    const int64_t row = r * p.sH - p.padTop + i * p.dH;
    if (row < 0 || row >= p.inH) continue;
    for (int64_t j = 0; j < p.fW; j++) {
      const int64_t col = k * p.sW - p.padLeft + j * p.dW;
      if (col < 0 || col >= p.inW) continue;
      const float* px = x + (row * p.inW + col) * p.C;
      if (at) {
        const int32_t tap = static_cast<int32_t>(i * p.fW + j);
        for (int64_t ch = 0; ch < p.C; ch++) {
          const bool greater = px[ch] > best[ch];
          best[ch] = greater ? px[ch] : best[ch];
          at[ch] = greater ? tap : at[ch];
        }
      } else {
        for (int64_t ch = 0; ch < p.C; ch++) best[ch] = px[ch] > best[ch] ? px[ch] : best[ch];
      }
    }
  }
}

}  // namespace

// maxPool(heap, x, y, batch, inH, inW, C, outH, outW, fH, fW, strideH, strideW, padTop, padLeft, dilationH, dilationW)
std::string maxPool(const Call& c) {
  const Pool p = pool(c, 3);
  const float* x = c.f32(1, p.batch * p.inH * p.inW * p.C, "x");
  float* y = c.f32(2, p.batch * p.outH * p.outW * p.C, "y");
#pragma omp parallel for schedule(static) if (p.batch * p.outH * p.outW * p.C * p.fH * p.fW > 65536)
  for (int64_t t = 0; t < p.batch * p.outH; t++) {
    const int64_t b = t / p.outH, r = t % p.outH;
    for (int64_t k = 0; k < p.outW; k++) windowMax(p, x + b * p.inH * p.inW * p.C, r, k, y + (t * p.outW + k) * p.C, nullptr);
  }
  return {};
}

// maxPoolGrad(heap, dy, x, dx, batch, inH, inW, C, outH, outW, fH, fW, strideH, strideW, padTop, padLeft, dilationH, dilationW)
// dx = Σ over windows of dy at the element each window's maximum came from.
std::string maxPoolGrad(const Call& c) {
  const Pool p = pool(c, 4);
  const int64_t image = p.inH * p.inW * p.C, outImage = p.outH * p.outW * p.C;
  const float* dy = c.f32(1, p.batch * outImage, "dy");
  const float* x = c.f32(2, p.batch * image, "x");
  float* dx = c.f32(3, p.batch * image, "dx");
#pragma omp parallel if (p.batch > 1 && p.batch * outImage * p.fH * p.fW > 65536)
  {
    std::vector<float> best(static_cast<size_t>(p.C));
    std::vector<int32_t> at(static_cast<size_t>(p.C));
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.batch; b++) {
      float* dxb = dx + b * image;
      std::fill(dxb, dxb + image, 0.f);
      for (int64_t r = 0; r < p.outH; r++)
        for (int64_t k = 0; k < p.outW; k++) {
          windowMax(p, x + b * image, r, k, best.data(), at.data());
          const float* g = dy + b * outImage + (r * p.outW + k) * p.C;
          for (int64_t ch = 0; ch < p.C; ch++) {
            if (at[ch] < 0) continue;
            const int64_t row = r * p.sH - p.padTop + (at[ch] / p.fW) * p.dH, col = k * p.sW - p.padLeft + (at[ch] % p.fW) * p.dW;
            dxb[(row * p.inW + col) * p.C + ch] += g[ch];
          }
        }
    }
  }
  return {};
}

}  // namespace tn
