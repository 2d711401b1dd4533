// Strided row copies: concatenation along an axis writes each input's rows into a column block
// of the output, a split reads them back out (the gradient of a U-Net's concatenated skip).
#include <algorithm>
#include <cstring>

#include "kernels.h"

namespace tn {

// copyRows(heap, src, dst, rows, cols, srcStride, dstStride): dst[r·dstStride + k] =
// src[r·srcStride + k] for k < cols; strides in elements of 4 bytes (float32 or int32).
std::string copyRows(const Call& c) {
  const int64_t rows = c.i(3), cols = c.i(4), srcStride = c.i(5), dstStride = c.i(6);
  if (rows < 1 || cols < 1) throw std::invalid_argument("copy of an empty block");
  if (srcStride < cols || dstStride < cols) throw std::invalid_argument("a row stride is shorter than the row");
  const float* src = c.f32(1, (rows - 1) * srcStride + cols, "src");
  float* dst = c.f32(2, (rows - 1) * dstStride + cols, "dst");
  const size_t bytes = static_cast<size_t>(cols) * sizeof(float);
#pragma omp parallel for schedule(static) if (rows * cols > 65536 && rows > 1)
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * dstStride, src + r * srcStride, bytes);
  return {};
}

}  // namespace tn
