#include "empo/model/paged_attention.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

namespace empo::model {

namespace {

// The vector loops below are compiled for AVX2+FMA as well as the baseline, and the loader
// picks the clone the CPU runs (GCC/Clang function multi-versioning).
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define EMPO_VECTOR_CLONES __attribute__((target_clones("avx2,fma", "default")))
#else
#define EMPO_VECTOR_CLONES
#endif

EMPO_VECTOR_CLONES float dot(const float* a, const float* b, int64_t D) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // independent sums the compiler vectorises
  int64_t d = 0;
  for (; d + 8 <= D; d += 8)
    for (int i = 0; i < 8; ++i) lanes[i] += a[d + i] * b[d + i];
  float sum = 0;
  for (; d < D; ++d) sum += a[d] * b[d];
  for (float lane : lanes) sum += lane;
  return sum;
}

EMPO_VECTOR_CLONES void add_scaled(float* out, const float* v, float weight, int64_t D) {
  for (int64_t d = 0; d < D; ++d) out[d] += weight * v[d];
}

struct Shapes {
  int64_t B, H, T, D, Hkv, groups, nb, block_size;
};

// One (row, key/value head): its groups x T queries against the row's visible slots.
void attend(const Shapes& shape, int64_t b, int64_t h, const float* q, const float* keys,
            const float* values, const int64_t* blocks, const int64_t* key_positions,
            const int64_t* query_positions, float* out, std::vector<float>& scores) {
  const int64_t D = shape.D, slots = shape.nb * shape.block_size;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  scores.resize(slots);
  for (int64_t g = 0; g < shape.groups; ++g) {
    const int64_t head = h * shape.groups + g;
    for (int64_t t = 0; t < shape.T; ++t) {
      const float* query = q + ((b * shape.H + head) * shape.T + t) * D;
      const int64_t position = query_positions[b * shape.T + t];
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < slots; ++c) {
        const int64_t key_position = key_positions[b * slots + c];
        if (key_position < 0 || key_position > position) {
          scores[c] = -std::numeric_limits<float>::infinity();
          continue;
        }
        const int64_t block = blocks[b * shape.nb + c / shape.block_size];
        const float* key = keys + (block * shape.block_size + c % shape.block_size) * D;
        scores[c] = dot(query, key, D) * scale;
        best = std::max(best, scores[c]);
      }
      float* result = out + ((b * shape.H + head) * shape.T + t) * D;
      std::fill(result, result + D, 0.0f);
      float total = 0;
      for (int64_t c = 0; c < slots; ++c) {
        if (scores[c] == -std::numeric_limits<float>::infinity()) continue;
        const float weight = std::exp(scores[c] - best);
        total += weight;
        const int64_t block = blocks[b * shape.nb + c / shape.block_size];
        add_scaled(result, values + (block * shape.block_size + c % shape.block_size) * D, weight,
                   D);
      }
      if (total > 0)
        for (int64_t d = 0; d < D; ++d) result[d] /= total;
    }
  }
}

}  // namespace

bool paged_attention_reads_in_place(const at::Tensor& pool_keys, int64_t heads) {
  return pool_keys.device().is_cpu() && pool_keys.scalar_type() == at::kFloat &&
         pool_keys.is_contiguous() && pool_keys.size(0) == heads;
}

at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& pool_keys,
                           const at::Tensor& pool_values, const at::Tensor& read_blocks,
                           const at::Tensor& key_positions, const at::Tensor& position_ids) {
  TORCH_CHECK(pool_keys.device().is_cpu() && pool_keys.scalar_type() == at::kFloat &&
                  pool_keys.is_contiguous() && pool_values.is_contiguous(),
              "paged_attention reads float32 CPU pools");
  Shapes shape{q.size(0),           q.size(1),         q.size(2),
               q.size(3),           pool_keys.size(0), q.size(1) / pool_keys.size(0),
               read_blocks.size(1), pool_keys.size(2)};
  auto query = q.to(at::kFloat).contiguous();
  auto blocks = read_blocks.to(at::kLong).contiguous();
  auto slot_positions = key_positions.to(at::kLong).contiguous();
  auto query_positions = position_ids.to(at::kLong).contiguous();
  auto out = at::empty_like(query);  // (B, H, T, D)
  const int64_t head_stride = pool_keys.size(1) * shape.block_size * shape.D;
  const float* keys = pool_keys.data_ptr<float>();
  const float* values = pool_values.data_ptr<float>();
  at::parallel_for(0, shape.B * shape.Hkv, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores;
    for (int64_t index = begin; index < end; ++index) {
      const int64_t b = index / shape.Hkv, h = index % shape.Hkv;
      attend(shape, b, h, query.data_ptr<float>(), keys + h * head_stride, values + h * head_stride,
             blocks.data_ptr<int64_t>(), slot_positions.data_ptr<int64_t>(),
             query_positions.data_ptr<int64_t>(), out.data_ptr<float>(), scores);
    }
  });
  return out.to(q.scalar_type());
}

}  // namespace empo::model
