#include "empo/model/paged_attention.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

#include "empo/model/vector_math.h"

namespace empo::model {

namespace {

struct Shapes {
  int64_t B, T, H, D, Hkv, groups, nb, block_size;
};

// Per-query state of one attend() call, reused across the calls of a task.
struct Scratch {
  std::vector<const float*> queries;
  std::vector<float*> outs;
  std::vector<int64_t> positions;
  std::vector<float> best, total;
};

// One (row, key/value head): the group's groups x T queries against the row's visible slots,
// in one pass with a running softmax (a new best score rescales what was summed so far). Each
// key and value is read once for all the queries.
EMPO_VECTOR_CLONES void attend(const Shapes& shape, int64_t b, int64_t h, const float* q,
                               const float* keys, const float* values, const int64_t* blocks,
                               const int64_t* key_positions, const int64_t* query_positions,
                               float* out, Scratch& scratch) {
  const int64_t D = shape.D, T = shape.T, block_size = shape.block_size;
  const int64_t queries = shape.groups * T;  // query i: head h * groups + i / T, token i % T
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  scratch.queries.resize(queries);
  scratch.outs.resize(queries);
  scratch.positions.resize(queries);
  scratch.best.assign(queries, -std::numeric_limits<float>::infinity());
  scratch.total.assign(queries, 0.0f);
  for (int64_t i = 0; i < queries; ++i) {
    const int64_t offset = ((b * T + i % T) * shape.H + h * shape.groups + i / T) * D;
    scratch.queries[i] = q + offset;
    scratch.outs[i] = out + offset;
    scratch.positions[i] = query_positions[b * T + i % T];
    std::fill(out + offset, out + offset + D, 0.0f);
  }
  const int64_t* row_positions = key_positions + b * shape.nb * block_size;
  for (int64_t column = 0; column < shape.nb; ++column) {
    const int64_t block = blocks[b * shape.nb + column];
    for (int64_t o = 0; o < block_size; ++o) {
      const int64_t key_position = row_positions[column * block_size + o];
      if (key_position < 0) continue;
      const float* key = keys + (block * block_size + o) * D;
      const float* value = values + (block * block_size + o) * D;
      for (int64_t i = 0; i < queries; ++i) {
        if (key_position > scratch.positions[i]) continue;
        const float score = dot(scratch.queries[i], key, D) * scale;
        float* result = scratch.outs[i];
        if (score > scratch.best[i]) {
          const float rescale = std::exp(scratch.best[i] - score);  // 0 for the first key
          scratch.total[i] *= rescale;
          for (int64_t d = 0; d < D; ++d) result[d] *= rescale;
          scratch.best[i] = score;
        }
        const float weight = std::exp(score - scratch.best[i]);
        scratch.total[i] += weight;
        add_scaled(result, value, weight, D);
      }
    }
  }
  for (int64_t i = 0; i < queries; ++i)
    if (scratch.total[i] > 0)
      for (int64_t d = 0; d < D; ++d) scratch.outs[i][d] /= scratch.total[i];
}

}  // namespace

bool paged_attention_reads_in_place(const at::Tensor& pool_keys) {
  return pool_keys.device().is_cpu() && pool_keys.scalar_type() == at::kFloat &&
         pool_keys.is_contiguous();
}

at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& pool_keys,
                           const at::Tensor& pool_values, const at::Tensor& read_blocks,
                           const at::Tensor& key_positions, const at::Tensor& position_ids) {
  TORCH_CHECK(paged_attention_reads_in_place(pool_keys) && pool_values.is_contiguous(),
              "paged_attention reads float32 CPU pools");
  Shapes shape{q.size(0),           q.size(1),         q.size(2),
               q.size(3),           pool_keys.size(0), q.size(2) / pool_keys.size(0),
               read_blocks.size(1), pool_keys.size(2)};
  auto query = q.to(at::kFloat).contiguous();
  auto blocks = read_blocks.to(at::kLong).contiguous();
  auto slot_positions = key_positions.to(at::kLong).contiguous();
  auto query_positions = position_ids.to(at::kLong).contiguous();
  auto out = at::empty_like(query);  // (B, T, H, D)
  const int64_t head_stride = pool_keys.size(1) * shape.block_size * shape.D;
  const float* keys = pool_keys.data_ptr<float>();
  const float* values = pool_values.data_ptr<float>();
  at::parallel_for(0, shape.B * shape.Hkv, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch;
    for (int64_t index = begin; index < end; ++index) {
      const int64_t b = index / shape.Hkv, h = index % shape.Hkv;
      attend(shape, b, h, query.data_ptr<float>(), keys + h * head_stride, values + h * head_stride,
             blocks.data_ptr<int64_t>(), slot_positions.data_ptr<int64_t>(),
             query_positions.data_ptr<int64_t>(), out.data_ptr<float>(), scratch);
    }
  });
  return out.to(q.scalar_type());
}

}  // namespace empo::model
