// Batched matrix product on oneDNN, row-major fp32, either operand transposed, batch dimension
// broadcast when one side has batch 1, optional bias over the last axis and a fused activation
// (tfjs' BatchMatMul and _FusedMatMul).
#include "kernels.h"

#include "compat.h"

namespace tn {

namespace {

using dnnl::memory;
using dt = memory::data_type;

struct MatmulPlan {
  dnnl::primitive primitive;
  memory::desc a, b, bias, c;
  std::string impl;
};

thread_local PlanCache<MatmulPlan> plans;

}  // namespace

// matmul(heap, a, b, c, bias, batchA, batchB, M, N, K, transposeA, transposeB, activation, alpha)
// C[batch, M, N] = act(op(A) · op(B) + bias[N]); batch = max(batchA, batchB), the other one 1 or equal.
std::string matmul(const Call& call) {
  const int64_t batchA = call.i(5), batchB = call.i(6), M = call.i(7), N = call.i(8), K = call.i(9);
  const bool tA = call.i(10) != 0, tB = call.i(11) != 0, bias = call.i(4) >= 0;
  const int64_t activation = call.i(12);
  const float alpha = static_cast<float>(call.d(13));
  const int64_t batch = std::max(batchA, batchB);
  if (!(batchA == batch || batchA == 1) || !(batchB == batch || batchB == 1))
    throw std::invalid_argument("matmul batches " + std::to_string(batchA) + " and " + std::to_string(batchB) + " do not broadcast");
  const std::vector<int64_t> key{batchA, batchB, M, N, K, tA, tB, bias, activation, static_cast<int64_t>(alpha * 1e6), threads()};
  MatmulPlan& plan = plans.get(key, [&] {
    auto p = std::make_unique<MatmulPlan>();
    // Strides describe the transposes; a broadcast batch has extent 1.
    p->a = memory::desc({batchA, M, K}, dt::f32, tA ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
    p->b = memory::desc({batchB, K, N}, dt::f32, tB ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
    p->c = memory::desc({batch, M, N}, dt::f32, memory::dims{M * N, N, 1});
    p->bias = memory::desc({1, 1, N}, dt::f32, memory::dims{N, N, 1});
    const auto pd = tn::matmul(p->a, p->b, bias ? &p->bias : nullptr, p->c, activationAttr(activation, alpha));
    p->primitive = dnnl::matmul(pd);
    p->impl = pd.impl_info_str();
    return p;
  });
  const memory a(plan.a, engine(), call.f32(1, batchA * M * K, "a"));
  const memory b(plan.b, engine(), call.f32(2, batchB * K * N, "b"));
  const memory c(plan.c, engine(), call.f32(3, batch * M * N, "c"));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  if (bias) args.insert({DNNL_ARG_BIAS, memory(plan.bias, engine(), call.f32(4, N, "bias"))});
  plan.primitive.execute(stream(), args);
  stream().wait();
  return plan.impl;
}

}  // namespace tn
