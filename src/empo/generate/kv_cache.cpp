#include "empo/generate/kv_cache.h"

namespace empo::generate {

void select_rows(model::KVState& kv, const at::Tensor& rows) {
  auto index = rows.to(kv.keys.empty() ? at::kCPU : kv.keys[0].device());
  for (size_t layer = 0; layer < kv.keys.size(); ++layer) {
    kv.keys[layer] = kv.keys[layer].index_select(0, index);
    kv.values[layer] = kv.values[layer].index_select(0, index);
  }
}

}  // namespace empo::generate
