#include "common.h"

#include "compat.h"

#include <omp.h>

#include <cmath>
#include <cstdlib>

namespace tn {

namespace {

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw std::runtime_error(std::string("node-api: ") + what);
}

}  // namespace

Call::Call(napi_env env, napi_callback_info info, size_t arity) : env_(env), argv_(arity) {
  size_t argc = arity;
  check(napi_get_cb_info(env, info, &argc, argv_.data(), nullptr, nullptr), "arguments");
  if (argc != arity)
    throw std::invalid_argument("expected " + std::to_string(arity) + " arguments, got " + std::to_string(argc));
  void* data = nullptr;
  bool isBuffer = false;
  check(napi_is_arraybuffer(env, argv_[0], &isBuffer), "heap");
  if (!isBuffer) throw std::invalid_argument("the first argument must be the heap's ArrayBuffer");
  check(napi_get_arraybuffer_info(env, argv_[0], &data, &heapBytes_), "heap");
  heap_ = static_cast<char*>(data);
}

double Call::d(size_t k) const {
  double v = 0;
  check(napi_get_value_double(env_, argv_.at(k), &v), "number argument");
  return v;
}

int64_t Call::i(size_t k) const {
  const double v = d(k);
  if (!std::isfinite(v) || v != std::floor(v)) throw std::invalid_argument("argument " + std::to_string(k) + " is not an integer");
  return static_cast<int64_t>(v);
}

float* Call::f32(size_t k, int64_t count, const char* what) const {
  const int64_t offset = i(k);
  if (count < 0) throw std::invalid_argument(std::string(what) + ": negative size");
  if (offset < 0 || static_cast<uint64_t>(offset) + static_cast<uint64_t>(count) * 4 > heapBytes_)
    throw std::out_of_range(std::string(what) + ": " + std::to_string(count) + " floats at byte " + std::to_string(offset) +
                            " lie outside the heap of " + std::to_string(heapBytes_) + " bytes");
  if (offset % 4 != 0) throw std::invalid_argument(std::string(what) + ": offset " + std::to_string(offset) + " is not 4-byte aligned");
  return reinterpret_cast<float*>(heap_ + offset);
}

float* Call::f32opt(size_t k, int64_t count, const char* what) const {
  return i(k) < 0 ? nullptr : f32(k, count, what);
}

float* floatArray(napi_env env, napi_value v, size_t* length, const char* what) {
  bool isTyped = false;
  check(napi_is_typedarray(env, v, &isTyped), what);
  napi_typedarray_type type;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (isTyped) check(napi_get_typedarray_info(env, v, &type, length, &data, &buffer, &offset), what);
  if (!isTyped || type != napi_float32_array) throw std::invalid_argument(std::string(what) + " must be a Float32Array");
  return static_cast<float*>(data);
}

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

int threads() { return omp_get_max_threads(); }

dnnl::primitive_attr activationAttr(int64_t activation, float alpha) {
  dnnl::primitive_attr attr;
  if (activation == kLinear) return attr;
  dnnl::post_ops ops;
  switch (activation) {
    case kRelu: appendEltwise(ops, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: appendEltwise(ops, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kElu: appendEltwise(ops, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: appendEltwise(ops, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kLeakyRelu: appendEltwise(ops, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    default: throw Unsupported("activation " + std::to_string(activation));
  }
  attr.set_post_ops(ops);
  return attr;
}

void* AlignedBuffer::reserve(size_t bytes) {
  if (bytes <= bytes_) return data_;
  std::free(data_);
  bytes_ = (bytes + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, bytes_);
  if (data_ == nullptr) throw std::bad_alloc();
  return data_;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

}  // namespace tn
