#pragma once
// Every difference between the two libtorch versions empo builds against lives here: Debian's
// 1.13 (CPU, the default build) and the PyPI wheel's 2.x (CUDA compiled in). The rest of the
// code is written once against these names.
#include <torch/torch.h>
#include <torch/version.h>

#include <string>

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/detail/CUDAHooksInterface.h>
#endif

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace empo::compat {

inline constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// The base a c10d Gloo group is held through: 2.x split ProcessGroup into a dispatcher over
// per-device c10d::Backend objects, and ProcessGroupGloo became a Backend.
#if TORCH_VERSION_MAJOR >= 2
using GlooBase = c10d::Backend;
#else
using GlooBase = c10d::ProcessGroup;
#endif

// Whether the libtorch this binary links has fused scaled_dot_product_attention kernels
// (flash / memory-efficient on CUDA, a flash-style kernel on CPU). 1.13 has only the math path.
inline constexpr bool kFusedAttention = kTorch2;

// softmax(q k^T / sqrt(D) + additive_mask) v with grouped-query heads.
// q (B, H, T, D); k, v (B, Hkv, S, D) with H a multiple of Hkv; additive_mask (B, 1, T, S) of
// 0 / -inf in q's dtype; no query row may be fully masked. Returns (B, H, T, D).
inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v,
                                               const at::Tensor& additive_mask) {
  const int64_t groups = q.size(1) / k.size(1);
#if TORCH_VERSION_MAJOR >= 2
  if (!q.is_cuda())  // the CPU kernel shares key/value heads itself
    return at::scaled_dot_product_attention(q, k, v, additive_mask, 0.0, false, std::nullopt,
                                            /*enable_gqa=*/true);
  // CUDA's memory-efficient kernel (the one that takes a mask) wants equal head counts;
  // repeated keys/values are O(T), the scores it avoids are O(T^2).
  return at::scaled_dot_product_attention(q, k.repeat_interleave(groups, 1),
                                          v.repeat_interleave(groups, 1), additive_mask);
#else
  return std::get<0>(at::_scaled_dot_product_attention(
      q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1), additive_mask));
#endif
}

inline std::string torch_version() {
  return TORCH_VERSION;
}

// CUDA kernels linked into this binary (libtorch_cuda registered), GPU or not.
inline bool cuda_compiled_in() {
#if TORCH_VERSION_MAJOR >= 2
  return at::detail::getCUDAHooks().isBuilt();
#else
  return false;  // Debian's 1.13 is CPU-only
#endif
}

}  // namespace empo::compat
