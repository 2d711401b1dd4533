// Nearest-neighbour resize of NHWC images and its gradient (the U-Net's "nearest" decoder), with
// tfjs' source-pixel rule (alignCorners, halfPixelCenters) computed in float64 as tfjs does. The
// gradient scatters each output pixel back to its source; source rows are non-decreasing in the
// output row, so every (image, source row) is one task that no other task writes to.
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

struct Geometry {
  int64_t batch, inH, inW, C, outH, outW;
  std::vector<int64_t> rows, cols;
};

Geometry geometry(const Call& c) {
  Geometry g{c.i(3), c.i(4), c.i(5), c.i(6), c.i(7), c.i(8), {}, {}};
  if (g.batch < 1 || g.inH < 1 || g.inW < 1 || g.C < 1 || g.outH < 1 || g.outW < 1) throw std::invalid_argument("resize of an empty tensor");
  const bool align = c.i(9) != 0, half = c.i(10) != 0;
  g.rows = sources(g.inH, g.outH, align, half);
  g.cols = sources(g.inW, g.outW, align, half);
  return g;
}

}  // namespace

// resizeNearest(heap, x, y, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
std::string resizeNearest(const Call& c) {
  const Geometry g = geometry(c);
  const float* x = c.f32(1, g.batch * g.inH * g.inW * g.C, "x");
  float* y = c.f32(2, g.batch * g.outH * g.outW * g.C, "y");
  const size_t pixel = static_cast<size_t>(g.C) * sizeof(float);
#pragma omp parallel for schedule(static) if (g.batch * g.outH * g.outW * g.C > 65536)
  for (int64_t t = 0; t < g.batch * g.outH; t++) {
    const int64_t b = t / g.outH, r = t % g.outH;
    const float* source = x + (b * g.inH + g.rows[r]) * g.inW * g.C;
    float* out = y + t * g.outW * g.C;
    for (int64_t k = 0; k < g.outW; k++) std::memcpy(out + k * g.C, source + g.cols[k] * g.C, pixel);
  }
  return {};
}

// resizeNearestGrad(heap, dy, dx, batch, inH, inW, C, outH, outW, alignCorners, halfPixelCenters)
// dx[b, rows[r], cols[k]] = Σ dy[b, r, k] over the output pixels each input pixel was copied to.
std::string resizeNearestGrad(const Call& c) {
  const Geometry g = geometry(c);
  const float* dy = c.f32(1, g.batch * g.outH * g.outW * g.C, "dy");
  float* dx = c.f32(2, g.batch * g.inH * g.inW * g.C, "dx");
  // first[s]..first[s + 1]: the output rows whose source row is s.
  std::vector<int64_t> first(static_cast<size_t>(g.inH + 1), g.outH);
  for (int64_t r = g.outH - 1; r >= 0; r--) first[g.rows[r]] = r;
  for (int64_t s = g.inH - 1; s >= 0; s--) first[s] = std::min(first[s], first[s + 1]);
#pragma omp parallel for schedule(static) if (g.batch * g.outH * g.outW * g.C > 65536)
  for (int64_t t = 0; t < g.batch * g.inH; t++) {
    const int64_t b = t / g.inH, s = t % g.inH;
    float* row = dx + t * g.inW * g.C;
    std::fill(row, row + g.inW * g.C, 0.f);
    for (int64_t r = first[s]; r < first[s + 1]; r++) {
      const float* in = dy + (b * g.outH + r) * g.outW * g.C;
      for (int64_t k = 0; k < g.outW; k++) {
        float* target = row + g.cols[k] * g.C;
        const float* from = in + k * g.C;
        for (int64_t ch = 0; ch < g.C; ch++) target[ch] += from[ch];
      }
    }
  }
  return {};
}

}  // namespace tn
