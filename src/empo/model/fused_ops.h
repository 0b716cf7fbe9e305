#pragma once
// Fused float32 CPU kernels for the rollout engine's paged forward (autograd off): one pass
// over memory where the ATen composition takes several small ops. On a small model those ops,
// not the matmuls, are most of a decode step (bench/rollout_bench, demo case).
#include <ATen/ATen.h>

namespace empo::model {

// Whether the fused kernels serve a forward over x: float32 on CPU with autograd off.
bool fused_cpu_kernels_apply(const at::Tensor& x);

// HF's RMSNorm of x (..., C) with weight (C): weight * x / sqrt(mean(x^2) + eps).
at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

// A paged step's rotary embedding and key/value write: q (B, T, H, D) is rotated (in place
// when contiguous) and returned; k (B, T, Hkv, D) is rotated and stored with v (B, T, Hkv, D)
// into write_slots (B, T) of pool_keys / pool_values (Hkv, num_blocks, block_size, D). cos, sin
// (B, 1, T, D) as the model's rotary tables hold them (both halves alike).
at::Tensor rotate_and_store(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& cos, const at::Tensor& sin, at::Tensor& pool_keys,
                            at::Tensor& pool_values, const at::Tensor& write_slots);

}  // namespace empo::model
