// Node-API entry point: binds the kernels to JavaScript names, turns C++ exceptions into JS errors
// (code "UNSUPPORTED" for configurations oneDNN cannot run, so the caller can fall back) and
// reports what the addon runs on.
#include <omp.h>

#include "kernels.h"

namespace tn {

namespace {

using Kernel = std::string (*)(const Call&);

struct Binding {
  const char* name;
  Kernel kernel;
  size_t arity;
};

const Binding bindings[] = {
    {"conv", conv, 25},
    {"matmul", matmul, 14},
    {"batchNormForward", batchNormForward, 11},
    {"batchNormBackward", batchNormBackward, 13},
    {"binary", binary, 9},
    {"unary", unary, 6},
    {"softmax", softmax, 5},
    {"adam", adam, 14},
    {"reduce", reduce, 7},
    {"resizeNearest", resizeNearest, 11},
    {"resizeNearestGrad", resizeNearestGrad, 11},
    {"maxPool", maxPool, 17},
    {"maxPoolGrad", maxPoolGrad, 18},
    {"resizeBilinear", resizeBilinear, 11},
    {"resizeBilinearGrad", resizeBilinearGrad, 11},
    {"copyRows", copyRows, 7},
};

napi_value text(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.data(), s.size(), &v);
  return v;
}

template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const Unsupported& e) {
    napi_throw_error(env, "UNSUPPORTED", e.what());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, e.status == dnnl_unimplemented ? "UNSUPPORTED" : "ONEDNN", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value runKernel(napi_env env, napi_callback_info info) {
  const Binding* binding = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, nullptr, reinterpret_cast<void**>(const_cast<Binding**>(&binding)));
  return guarded(env, [&] {
    const Call call(env, info, binding->arity);
    const std::string impl = binding->kernel(call);
    napi_value result;
    if (impl.empty()) napi_get_undefined(env, &result);
    else result = text(env, impl);
    return result;
  });
}

// setThreads(n): threads of the calling JS thread's kernels (each worker thread sets its own).
napi_value setThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    size_t argc = 1;
    napi_value argv[1];
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    int32_t n = 0;
    if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1)
      throw std::invalid_argument("setThreads expects a positive integer");
    omp_set_num_threads(n);
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  });
}

// about(): oneDNN version, threading runtime, the instruction set its kernels use, thread count.
napi_value about(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    const dnnl_version_t* v = dnnl_version();
    napi_value result;
    napi_create_object(env, &result);
    const auto set = [&](const char* key, napi_value value) { napi_set_named_property(env, result, key, value); };
    set("onednn", text(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
    set("runtime", text(env, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other"));
    const char* isa = "unknown";
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::sse41: isa = "SSE4.1"; break;
      case dnnl::cpu_isa::avx: isa = "AVX"; break;
      case dnnl::cpu_isa::avx2: isa = "AVX2"; break;
      case dnnl::cpu_isa::avx512_core: isa = "AVX-512"; break;
      default: isa = "AVX-512+"; break;
    }
    set("isa", text(env, isa));
    napi_value n;
    napi_create_int32(env, threads(), &n);
    set("threads", n);
    return result;
  });
}

}  // namespace

}  // namespace tn

NAPI_MODULE_INIT() {
  for (const auto& b : tn::bindings) {
    napi_value fn;
    napi_create_function(env, b.name, NAPI_AUTO_LENGTH, tn::runKernel, const_cast<tn::Binding*>(&b), &fn);
    napi_set_named_property(env, exports, b.name, fn);
  }
  napi_value fn;
  napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, tn::setThreads, nullptr, &fn);
  napi_set_named_property(env, exports, "setThreads", fn);
  napi_create_function(env, "about", NAPI_AUTO_LENGTH, tn::about, nullptr, &fn);
  napi_set_named_property(env, exports, "about", fn);
  return exports;
}
