// 2-D convolution, NHWC fp32, on oneDNN: forward (optionally with bias and a fused activation),
// backward data (dx) and backward weights (dW). Filters are tfjs' [KH, KW, Cin, Cout] (hwio).
#include <algorithm>

#include "kernels.h"

#include "compat.h"

namespace tn {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

enum Kind : int64_t { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

struct Geometry {
  int64_t N, H, W, C, KH, KW, O, OH, OW, sh, sw, pt, pl, pb, pr, dh, dw;
};

ConvShape shapeOf(const Geometry& g, bool anyWeights) {
  ConvShape s;
  s.src = memory::desc({g.N, g.C, g.H, g.W}, dt::f32, tag::nhwc);
  s.dst = memory::desc({g.N, g.O, g.OH, g.OW}, dt::f32, tag::nhwc);
  s.weights = memory::desc({g.O, g.C, g.KH, g.KW}, dt::f32, anyWeights ? tag::any : tag::hwio);
  s.bias = memory::desc({g.O}, dt::f32, tag::x);
  s.strides = {g.sh, g.sw};
  // oneDNN counts dilation from 0 (tfjs from 1).
  s.dilates = {g.dh - 1, g.dw - 1};
  s.padL = {g.pt, g.pl};
  s.padR = {g.pb, g.pr};
  return s;
}

// A primitive plus what it needs around it: oneDNN picks its own (blocked) weight layout, so the
// tfjs filter is reordered into it before a forward/dx call, and dW is reordered out of it.
struct ConvPlan {
  dnnl::primitive primitive;
  memory::desc userWeights, weights;
  bool reorder = false;
  dnnl::primitive reorderWeights;
  AlignedBuffer weightBuffer;
  // The strided pixels of x, for a 1×1 backward-weights conv run at stride 1 (see `unitStride`).
  AlignedBuffer sampled;
  std::string impl;
};

std::unique_ptr<ConvPlan> makePlan(Kind kind, const Geometry& g, bool bias, int64_t activation, float alpha) {
  auto plan = std::make_unique<ConvPlan>();
  const ConvShape s = shapeOf(g, true);
  plan->userWeights = shapeOf(g, false).weights;
  if (kind == kForward) {
    const auto pd = convForward(s, bias, activationAttr(activation, alpha));
    plan->primitive = dnnl::convolution_forward(pd);
    plan->weights = pd.weights_desc();
    plan->impl = pd.impl_info_str();
  } else {
    const auto hint = convForward(s, false, dnnl::primitive_attr());
    if (kind == kBackwardData) {
      const auto pd = convBackwardData(s, hint);
      plan->primitive = dnnl::convolution_backward_data(pd);
      plan->weights = pd.weights_desc();
      plan->impl = pd.impl_info_str();
    } else {
      const auto pd = convBackwardWeights(s, hint);
      plan->primitive = dnnl::convolution_backward_weights(pd);
      plan->weights = pd.diff_weights_desc();
      plan->impl = pd.impl_info_str();
    }
  }
  plan->reorder = plan->weights != plan->userWeights;
  if (plan->reorder) {
    const memory user(plan->userWeights, engine(), DNNL_MEMORY_NONE);
    const memory internal(plan->weights, engine(), DNNL_MEMORY_NONE);
    plan->reorderWeights = kind == kBackwardWeights ? dnnl::reorder(internal, user) : dnnl::reorder(user, internal);
  }
  return plan;
}

thread_local PlanCache<ConvPlan> plans;

// oneDNN 2.6's 1×1 backward-weights kernel at stride > 1 (its "reduce to unit stride" path)
// corrupted the malloc heap on 2 threads for some shapes (e.g. 3×8×10×3 → 5, stride 2). When every
// strided pixel lies inside x, dW is the same as that of a stride-1 1×1 conv of those pixels, which
// this geometry describes.
bool unitStride(const Geometry& g, Geometry& sampled) {
  if (g.KH != 1 || g.KW != 1 || (g.sh == 1 && g.sw == 1) || g.pt != 0 || g.pl != 0) return false;
  if ((g.OH - 1) * g.sh >= g.H || (g.OW - 1) * g.sw >= g.W) return false;
  sampled = g;
  sampled.H = g.OH;
  sampled.W = g.OW;
  sampled.sh = sampled.sw = 1;
  sampled.pb = sampled.pr = 0;
  return true;
}

// x[n, oh·sh, ow·sw, :] for every output pixel, packed as [N, OH, OW, C].
void samplePixels(const float* x, const Geometry& g, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < g.N * g.OH; row++) {
    const int64_t n = row / g.OH, oh = row % g.OH;
    const float* in = x + ((n * g.H + oh * g.sh) * g.W) * g.C;
    float* to = out + row * g.OW * g.C;
    for (int64_t ow = 0; ow < g.OW; ow++) std::copy(in + ow * g.sw * g.C, in + (ow * g.sw + 1) * g.C, to + ow * g.C);
  }
}

}  // namespace

// conv(heap, kind, a, b, out, bias, activation, alpha, N, H, W, C, KH, KW, O, OH, OW, sh, sw, pt, pl, pb, pr, dh, dw)
//   forward:          a = x,  b = filter, out = y   (bias offset or -1; activation fused)
//   backward data:    a = dy, b = filter, out = dx
//   backward weights: a = x,  b = dy,     out = dW
// Returns oneDNN's implementation name.
std::string conv(const Call& c) {
  const auto kind = static_cast<Kind>(c.i(1));
  Geometry g;
  int64_t* fields = &g.N;
  for (int k = 0; k < 17; k++) fields[k] = c.i(8 + k);
  const int64_t activation = c.i(6);
  const float alpha = static_cast<float>(c.d(7));
  const bool bias = kind == kForward && c.i(5) >= 0;
  if (kind != kForward && activation != kLinear) throw std::invalid_argument("only a forward conv fuses an activation");
  if (kind < kForward || kind > kBackwardWeights) throw std::invalid_argument("conv kind " + std::to_string(kind));

  const std::vector<int64_t> key{kind, g.N, g.H, g.W, g.C, g.KH, g.KW, g.O, g.OH, g.OW, g.sh, g.sw, g.pt, g.pl,
                                 g.pb, g.pr, g.dh, g.dw, bias, activation, static_cast<int64_t>(alpha * 1e6), threads()};
  Geometry sampled;
  const bool sample = kind == kBackwardWeights && unitStride(g, sampled);
  ConvPlan& plan = plans.get(key, [&] { return makePlan(kind, sample ? sampled : g, bias, activation, alpha); });

  const int64_t nx = g.N * g.H * g.W * g.C, ny = g.N * g.OH * g.OW * g.O, nw = g.KH * g.KW * g.C * g.O;
  const ConvShape s = shapeOf(sample ? sampled : g, false);
  float* filter = kind == kBackwardWeights ? c.f32(4, nw, "dW") : c.f32(3, nw, "filter");
  const memory user(plan.userWeights, engine(), filter);
  const memory internal = plan.reorder ? memory(plan.weights, engine(), plan.weightBuffer.reserve(plan.weights.get_size())) : user;
  auto& strm = stream();
  if (kind != kBackwardWeights && plan.reorder)
    plan.reorderWeights.execute(strm, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, internal}});
  std::unordered_map<int, memory> args;
  if (kind == kForward) {
    args = {{DNNL_ARG_SRC, memory(s.src, engine(), c.f32(2, nx, "x"))},
            {DNNL_ARG_WEIGHTS, internal},
            {DNNL_ARG_DST, memory(s.dst, engine(), c.f32(4, ny, "y"))}};
    if (bias) args.insert({DNNL_ARG_BIAS, memory(s.bias, engine(), c.f32(5, g.O, "bias"))});
  } else if (kind == kBackwardData) {
    args = {{DNNL_ARG_DIFF_DST, memory(s.dst, engine(), c.f32(2, ny, "dy"))},
            {DNNL_ARG_WEIGHTS, internal},
            {DNNL_ARG_DIFF_SRC, memory(s.src, engine(), c.f32(4, nx, "dx"))}};
  } else {
    float* x = c.f32(2, nx, "x");
    if (sample) {
      float* packed = static_cast<float*>(plan.sampled.reserve(s.src.get_size()));
      samplePixels(x, g, packed);
      x = packed;
    }
    args = {{DNNL_ARG_SRC, memory(s.src, engine(), x)},
            {DNNL_ARG_DIFF_DST, memory(s.dst, engine(), c.f32(3, ny, "dy"))},
            {DNNL_ARG_DIFF_WEIGHTS, internal}};
  }
  plan.primitive.execute(strm, args);
  if (kind == kBackwardWeights && plan.reorder)
    plan.reorderWeights.execute(strm, {{DNNL_ARG_FROM, internal}, {DNNL_ARG_TO, user}});
  strm.wait();
  return plan.impl;
}

}  // namespace tn
