// The few oneDNN calls whose spelling changed in version 3 (Ubuntu 24.04 ships 3.1; Debian 12 and
// Ubuntu 22.04 ship 2.6 and 2.2): operation descriptors were folded into primitive descriptors and
// eltwise post-ops lost their scale argument.
#pragma once

#include "common.h"

namespace tn {

using dnnl::memory;

inline void appendEltwise(dnnl::post_ops& ops, dnnl::algorithm alg, float alpha, float beta) {
#if DNNL_VERSION_MAJOR >= 3
  ops.append_eltwise(alg, alpha, beta);
#else
  ops.append_eltwise(1.f, alg, alpha, beta);
#endif
}

struct ConvShape {
  memory::desc src, weights, bias, dst;
  memory::dims strides, dilates, padL, padR;
};

inline dnnl::convolution_forward::primitive_desc convForward(const ConvShape& s, bool withBias,
                                                             const dnnl::primitive_attr& attr) {
  const auto prop = dnnl::prop_kind::forward_training;
  const auto alg = dnnl::algorithm::convolution_direct;
  auto& eng = engine();
#if DNNL_VERSION_MAJOR >= 3
  if (withBias)
    return {eng, prop, alg, s.src, s.weights, s.bias, s.dst, s.strides, s.dilates, s.padL, s.padR, attr};
  return {eng, prop, alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR, attr};
#else
  if (withBias) {
    dnnl::convolution_forward::desc d(prop, alg, s.src, s.weights, s.bias, s.dst, s.strides, s.dilates, s.padL, s.padR);
    return {d, attr, eng};
  }
  dnnl::convolution_forward::desc d(prop, alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR);
  return {d, attr, eng};
#endif
}

inline dnnl::convolution_backward_data::primitive_desc convBackwardData(
    const ConvShape& s, const dnnl::convolution_forward::primitive_desc& hint) {
  const auto alg = dnnl::algorithm::convolution_direct;
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR, hint};
#else
  dnnl::convolution_backward_data::desc d(alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR);
  return {d, engine(), hint};
#endif
}

inline dnnl::convolution_backward_weights::primitive_desc convBackwardWeights(
    const ConvShape& s, const dnnl::convolution_forward::primitive_desc& hint) {
  const auto alg = dnnl::algorithm::convolution_direct;
#if DNNL_VERSION_MAJOR >= 3
  return {engine(), alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR, hint};
#else
  dnnl::convolution_backward_weights::desc d(alg, s.src, s.weights, s.dst, s.strides, s.dilates, s.padL, s.padR);
  return {d, engine(), hint};
#endif
}

inline dnnl::matmul::primitive_desc matmul(const memory::desc& a, const memory::desc& b, const memory::desc* bias,
                                           const memory::desc& c, const dnnl::primitive_attr& attr) {
#if DNNL_VERSION_MAJOR >= 3
  if (bias) return {engine(), a, b, *bias, c, attr};
  return {engine(), a, b, c, attr};
#else
  if (bias) return {dnnl::matmul::desc(a, b, *bias, c), attr, engine()};
  return {dnnl::matmul::desc(a, b, c), attr, engine()};
#endif
}

}  // namespace tn
