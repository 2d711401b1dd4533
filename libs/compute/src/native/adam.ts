import type { NativeAddon } from "@tomoprior/native"
import type { AdamKernel } from "../parallel/adam.ts"

/** The heap argument of a kernel that works on JavaScript arrays only. */
const noHeap = new ArrayBuffer(0)

/** The trainer's Adam step on the addon: all threads, the same bits as the JavaScript loop. */
export const nativeAdam =
  (addon: NativeAddon): AdamKernel =>
  (weights, grads, m, v, start, end, lr, beta1, beta2, epsilon, weightDecay, c1, c2) =>
    addon.adam(noHeap, weights, grads, m, v, start, end, lr, beta1, beta2, epsilon, weightDecay, c1, c2)
