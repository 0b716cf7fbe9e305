#include "empo/generate/kv_cache.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace empo::generate {

TEST(KvCache, SelectRowsExpandsAndCompacts) {
  auto model = model::load_model(test::fixture("qwen2-tiny"));
  auto kv = model::allocate_kv(model, 2, 5);
  EXPECT_EQ(model::kv_bytes(kv),
            2 * 2 * (2 * 2 * 5 * 16) * 4);  // layers x (k, v) x B*Hkv*S*D x f32
  kv.keys[0][0].fill_(1.0);
  kv.keys[0][1].fill_(2.0);
  // Two prompts into three samples each (prompt-major), then keep samples 1 and 4.
  select_rows(kv, at::tensor({0, 0, 0, 1, 1, 1}, at::kLong));
  EXPECT_EQ(kv.keys[0].size(0), 6);
  EXPECT_EQ(kv.keys[0][3].mean().item<float>(), 2.0f);
  select_rows(kv, at::tensor({1, 4}, at::kLong));
  EXPECT_EQ(kv.values[1].size(0), 2);
  EXPECT_EQ(kv.keys[0][0].mean().item<float>(), 1.0f);
  EXPECT_EQ(kv.keys[0][1].mean().item<float>(), 2.0f);
}

}  // namespace empo::generate
