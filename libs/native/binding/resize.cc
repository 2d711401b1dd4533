// Nearest-neighbour and bilinear resize of NHWC images and their gradients (a U-Net's upsampling),
// with tfjs' source-pixel rule (alignCorners, halfPixelCenters) computed in float64 as tfjs does.
// The gradients are the exact adjoints of the forward resizes (tfjs' cpu kernels ignore
// halfPixelCenters there). Nearest: source rows are non-decreasing in the output row, so every
// (image, source row) is one task that no other task writes to; bilinear: one image per task.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace tn {

namespace {

// The source index of every output index along one axis, as tfjs' resizeNearestNeighbor.
std::vector<int64_t> sources(int64_t in, int64_t out, bool alignCorners, bool halfPixelCenters) {
  const bool aligned = alignCorners && out > 1;
  const double ratio = static_cast<double>(aligned ? in - 1 : in) / static_cast<double>(aligned ? out - 1 : out);
  std::vector<int64_t> s(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; i++) {
    const double frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
    const double down = std::floor(frac);
    // Math.round: halves go up.
    const int64_t nearest = static_cast<int64_t>(alignCorners ? (frac - down >= 0.5 ? down + 1 : down) : down);
    s[i] = std::min(in - 1, nearest);
    if (halfPixelCenters) s[i] = std::max<int64_t>(0, s[i]);
  }
  return s;
}

// One output index's two source indices along an axis and the weight of the second, as tfjs'
// resizeBilinear.
struct Lerp {
  int64_t lo, hi;
  float frac;
};

std::vector<Lerp> lerps(int64_t in, int64_t out, bool alignCorners, bool halfPixelCenters) {
  const bool aligned = alignCorners && out > 1;
  const double ratio = static_cast<double>(aligned ? in - 1 : in) / static_cast<double>(aligned ? out - 1 : out);
  std::vector<Lerp> l(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; i++) {
    const double frac = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    const double lo = std::max(0.0, std::floor(frac));
    l[i] = {static_cast<int64_t>(lo), std::min(in - 1, static_cast<int64_t>(std::ceil(frac))), static_cast<float>(frac - lo)};
  }
  return l;
}

struct Geometry {
  int64_t batch, inH, inW, C, outH, outW;
  bool align, half;
};

Geometry geometry(const Call& c) {
  Geometry g{c.i(3), c.i(4), c.i(5), c.i(6), c.i(7), c.i(8), c.i(9) != 0, c.i(10) != 0};
  if (g.batch < 1 || g.inH < 1 || g.inW < 1 || g.C < 1 || g.outH < 1 || g.outW < 1) throw std::invalid_argument("resize of an empty tensor");
  return g;
}

}  // namespace

// resizeNearest(heap, x, y, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
std::string resizeNearest(const Call& c) {
  const Geometry g = geometry(c);
  const std::vector<int64_t> rows = sources(g.inH, g.outH, g.align, g.half), cols = sources(g.inW, g.outW, g.align, g.half);
  const float* x = c.f32(1, g.batch * g.inH * g.inW * g.C, "x");
  float* y = c.f32(2, g.batch * g.outH * g.outW * g.C, "y");
  const size_t pixel = static_cast<size_t>(g.C) * sizeof(float);
#pragma omp parallel for schedule(static) if (g.batch * g.outH * g.outW * g.C > 65536)
  for (int64_t t = 0; t < g.batch * g.outH; t++) {
    const int64_t b = t / g.outH, r = t % g.outH;
    const float* source = x + (b * g.inH + rows[r]) * g.inW * g.C;
    float* out = y + t * g.outW * g.C;
    for (int64_t k = 0; k < g.outW; k++) std::memcpy(out + k * g.C, source + cols[k] * g.C, pixel);
  }
  return {};
}

// resizeNearestGrad(heap, dy, dx, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
// dx[b, rows[r], cols[k]] = Σ dy[b, r, k] over the output pixels each input pixel was copied to.
std::string resizeNearestGrad(const Call& c) {
  const Geometry g = geometry(c);
  const std::vector<int64_t> rows = sources(g.inH, g.outH, g.align, g.half), cols = sources(g.inW, g.outW, g.align, g.half);
  const float* dy = c.f32(1, g.batch * g.outH * g.outW * g.C, "dy");
  float* dx = c.f32(2, g.batch * g.inH * g.inW * g.C, "dx");
  // first[s]..first[s + 1]: the output rows whose source row is s.
  std::vector<int64_t> first(static_cast<size_t>(g.inH + 1), g.outH);
  for (int64_t r = g.outH - 1; r >= 0; r--) first[rows[r]] = r;
  for (int64_t s = g.inH - 1; s >= 0; s--) first[s] = std::min(first[s], first[s + 1]);
#pragma omp parallel for schedule(static) if (g.batch * g.outH * g.outW * g.C > 65536)
  for (int64_t t = 0; t < g.batch * g.inH; t++) {
    const int64_t b = t / g.inH, s = t % g.inH;
    float* row = dx + t * g.inW * g.C;
    std::fill(row, row + g.inW * g.C, 0.f);
    for (int64_t r = first[s]; r < first[s + 1]; r++) {
      const float* in = dy + (b * g.outH + r) * g.outW * g.C;
      for (int64_t k = 0; k < g.outW; k++) {
        float* target = row + cols[k] * g.C;
        const float* from = in + k * g.C;
        for (int64_t ch = 0; ch < g.C; ch++) target[ch] += from[ch];
      }
    }
  }
  return {};
}

// resizeBilinear(heap, x, y, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
std::string resizeBilinear(const Call& c) {
  const Geometry g = geometry(c);
  const std::vector<Lerp> rows = lerps(g.inH, g.outH, g.align, g.half), cols = lerps(g.inW, g.outW, g.align, g.half);
  const float* x = c.f32(1, g.batch * g.inH * g.inW * g.C, "x");
  float* y = c.f32(2, g.batch * g.outH * g.outW * g.C, "y");
#pragma omp parallel for schedule(static) if (g.batch * g.outH * g.outW * g.C > 65536)
  for (int64_t t = 0; t < g.batch * g.outH; t++) {
    const int64_t b = t / g.outH;
    const Lerp& r = rows[t % g.outH];
    const float* top = x + (b * g.inH + r.lo) * g.inW * g.C;
    const float* bottom = x + (b * g.inH + r.hi) * g.inW * g.C;
    float* out = y + t * g.outW * g.C;
    for (int64_t k = 0; k < g.outW; k++) {
      const Lerp& l = cols[k];
      const float *tl = top + l.lo * g.C, *tr = top + l.hi * g.C, *bl = bottom + l.lo * g.C, *br = bottom + l.hi * g.C;
      float* o = out + k * g.C;
      for (int64_t ch = 0; ch < g.C; ch++) {
        const float upper = tl[ch] + (tr[ch] - tl[ch]) * l.frac;
        const float lower = bl[ch] + (br[ch] - bl[ch]) * l.frac;
        o[ch] = upper + (lower - upper) * r.frac;
      }
    }
  }
  return {};
}

// resizeBilinearGrad(heap, dy, dx, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
// Each output pixel's gradient split over its four source pixels with the forward weights.
std::string resizeBilinearGrad(const Call& c) {
  const Geometry g = geometry(c);
  const std::vector<Lerp> rows = lerps(g.inH, g.outH, g.align, g.half), cols = lerps(g.inW, g.outW, g.align, g.half);
  const int64_t image = g.inH * g.inW * g.C, outImage = g.outH * g.outW * g.C;
  const float* dy = c.f32(1, g.batch * outImage, "dy");
  float* dx = c.f32(2, g.batch * image, "dx");
#pragma omp parallel for schedule(static) if (g.batch > 1 && g.batch * outImage > 65536)
  for (int64_t b = 0; b < g.batch; b++) {
    float* d = dx + b * image;
    std::fill(d, d + image, 0.f);
    for (int64_t r = 0; r < g.outH; r++) {
      const Lerp& rl = rows[r];
      float* top = d + rl.lo * g.inW * g.C;
      float* bottom = d + rl.hi * g.inW * g.C;
      for (int64_t k = 0; k < g.outW; k++) {
        const Lerp& l = cols[k];
        const float* grad = dy + b * outImage + (r * g.outW + k) * g.C;
        const float wtl = (1 - rl.frac) * (1 - l.frac), wtr = (1 - rl.frac) * l.frac, wbl = rl.frac * (1 - l.frac), wbr = rl.frac * l.frac;
        for (int64_t ch = 0; ch < g.C; ch++) {
          top[l.lo * g.C + ch] += grad[ch] * wtl;
          top[l.hi * g.C + ch] += grad[ch] * wtr;
          bottom[l.lo * g.C + ch] += grad[ch] * wbl;
          bottom[l.hi * g.C + ch] += grad[ch] * wbr;
        }
      }
    }
  }
  return {};
}

}  // namespace tn
