// Every kernel the addon exports; addon.cc binds them to JavaScript names. Each takes the call's
// arguments (heap first, then numbers and heap offsets, documented at its definition) and returns
// oneDNN's implementation name where one was used, else an empty string.
#pragma once

#include <string>

#include "common.h"

namespace tn {

std::string conv(const Call& c);
std::string matmul(const Call& c);
std::string batchNormForward(const Call& c);
std::string batchNormBackward(const Call& c);
std::string binary(const Call& c);
std::string unary(const Call& c);
std::string softmax(const Call& c);
std::string adam(const Call& c);
std::string reduce(const Call& c);
std::string resizeNearest(const Call& c);
std::string resizeNearestGrad(const Call& c);
std::string resizeBilinear(const Call& c);
std::string resizeBilinearGrad(const Call& c);
std::string copyRows(const Call& c);
std::string maxPool(const Call& c);
std::string maxPoolGrad(const Call& c);

}  // namespace tn
