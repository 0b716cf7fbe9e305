#include "empo/model/fused_ops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace empo::model {

namespace {

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST(FusedOps, ApplyToFloat32CpuTensorsWithAutogradOff) {
  at::NoGradGuard no_grad;
  EXPECT_TRUE(fused_cpu_kernels_apply(at::zeros({2, 3})));
  EXPECT_FALSE(fused_cpu_kernels_apply(at::zeros({2, 3}, at::kBFloat16)));
  at::AutoGradMode grad_on(true);
  EXPECT_FALSE(fused_cpu_kernels_apply(at::zeros({2, 3})));
}

// Against the definition: weight * x / sqrt(mean(x^2) + eps), in double; rows longer than the
// kernel's vector width and a non-contiguous input.
TEST(FusedOps, RmsNormMatchesItsDefinition) {
  at::NoGradGuard no_grad;
  at::manual_seed(3);
  for (int64_t C : {5, 64, 203}) {
    auto x = at::randn({3, 7, C}) * 4;
    auto weight = at::randn({C});
    auto x64 = x.to(at::kDouble);
    auto expected = weight.to(at::kDouble) * x64 / at::sqrt(x64.pow(2).mean(-1, true) + 1e-6);
    EXPECT_LE(max_difference(fused_rms_norm(x, weight, 1e-6).to(at::kDouble), expected), 1e-5) << C;
  }
  auto wide = at::randn({6, 16});
  auto strided = wide.narrow(1, 0, 8);
  EXPECT_LE(max_difference(fused_rms_norm(strided, at::ones({8}), 1e-6),
                           strided * at::rsqrt(strided.pow(2).mean(-1, true) + 1e-6)),
            1e-6);
}

// Against HF's rotary (x * cos + rotate_half(x) * sin) and a scatter of keys/values into the
// pool's slots; slots not written stay as they were.
TEST(FusedOps, RotateAndStoreRotatesQueriesAndWritesTheSlots) {
  at::NoGradGuard no_grad;
  at::manual_seed(5);
  const int64_t B = 3, T = 2, H = 4, Hkv = 2, D = 10, blocks = 5, block_size = 4;
  auto q = at::randn({B, T, H, D});
  auto k = at::randn({B, T, Hkv, D});
  auto v = at::randn({B, T, Hkv, D});
  auto angles = at::rand({B, 1, T, D / 2}) * 20;
  auto doubled = at::cat({angles, angles}, -1);  // (B, 1, T, D)
  auto cos = doubled.cos(), sin = doubled.sin();
  auto pool_keys = at::randn({Hkv, blocks, block_size, D});
  auto pool_values = at::randn({Hkv, blocks, block_size, D});
  const auto keys_before = pool_keys.clone(), values_before = pool_values.clone();
  auto slots = at::tensor({17, 3, 8, 0, 12, 19}, at::kLong).view({B, T});

  auto rotate = [&](const at::Tensor& x) {  // x (B, T, heads, D) -> rotated, same layout
    auto head_major = x.transpose(1, 2);    // (B, heads, T, D)
    auto halves = head_major.chunk(2, -1);
    auto rotated = head_major * cos + at::cat({-halves[1], halves[0]}, -1) * sin;
    return rotated.transpose(1, 2);
  };
  const auto expected_q = rotate(q);
  const auto expected_k = rotate(k);
  auto rotated_q = rotate_and_store(q, k, v, cos, sin, pool_keys, pool_values, slots);
  EXPECT_LE(max_difference(rotated_q, expected_q), 1e-5);

  auto expected_keys = keys_before.view({Hkv, -1, D}).clone();
  auto expected_values = values_before.view({Hkv, -1, D}).clone();
  auto flat = slots.reshape({-1});
  expected_keys.index_copy_(1, flat, expected_k.reshape({B * T, Hkv, D}).transpose(0, 1));
  expected_values.index_copy_(1, flat, v.reshape({B * T, Hkv, D}).transpose(0, 1));
  EXPECT_LE(max_difference(pool_keys.view({Hkv, -1, D}), expected_keys), 1e-5);
  EXPECT_TRUE(pool_values.view({Hkv, -1, D}).equal(expected_values));
}

}  // namespace empo::model
