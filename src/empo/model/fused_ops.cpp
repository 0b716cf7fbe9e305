#include "empo/model/fused_ops.h"

#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "empo/model/vector_math.h"

namespace empo::model {

namespace {

// Below this many elements a kernel runs on the calling thread: waking the pool costs more.
constexpr int64_t kSerialElements = 1 << 15;

int64_t rows_per_task(int64_t row_elements) {
  return std::max<int64_t>(1, kSerialElements / std::max<int64_t>(1, row_elements));
}

EMPO_VECTOR_CLONES void rms_norm_row(const float* x, const float* weight, float* out, int64_t C,
                                     float eps) {
  const float inverse = 1.0f / std::sqrt(dot(x, x, C) / static_cast<float>(C) + eps);
  for (int64_t c = 0; c < C; ++c) out[c] = weight[c] * (x[c] * inverse);
}

// One head vector (D) rotated by angle tables cos, sin (D, halves alike) into out (may be x).
EMPO_VECTOR_CLONES void rotate_head(const float* x, const float* cos, const float* sin, float* out,
                                    int64_t D) {
  const int64_t half = D / 2;
  for (int64_t d = 0; d < half; ++d) {
    const float first = x[d], second = x[d + half];
    out[d] = first * cos[d] - second * sin[d];
    out[d + half] = second * cos[d + half] + first * sin[d + half];
  }
}

}  // namespace

bool fused_cpu_kernels_apply(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && !c10::GradMode::is_enabled();
}

at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  TORCH_CHECK(fused_cpu_kernels_apply(x) && weight.scalar_type() == at::kFloat,
              "fused_rms_norm takes float32 CPU tensors with autograd off");
  auto input = x.contiguous();
  auto scale = weight.contiguous();
  auto out = at::empty_like(input);
  const int64_t C = input.size(-1), rows = input.numel() / C;
  const float* in = input.data_ptr<float>();
  const float* w = scale.data_ptr<float>();
  float* result = out.data_ptr<float>();
  at::parallel_for(0, rows, rows_per_task(C), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      rms_norm_row(in + row * C, w, result + row * C, C, static_cast<float>(eps));
  });
  return out;
}

at::Tensor rotate_and_store(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& cos, const at::Tensor& sin, at::Tensor& pool_keys,
                            at::Tensor& pool_values, const at::Tensor& write_slots) {
  TORCH_CHECK(fused_cpu_kernels_apply(q) && pool_keys.scalar_type() == at::kFloat &&
                  pool_keys.is_contiguous() && pool_values.is_contiguous(),
              "rotate_and_store takes float32 CPU tensors and contiguous pools");
  const int64_t B = q.size(0), T = q.size(1), H = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(2), head_stride = pool_keys.size(1) * pool_keys.size(2) * D;
  auto queries = q.contiguous();  // rotated in place: the projection's own output
  auto keys = k.contiguous();
  auto values = v.contiguous();
  auto cos_table = cos.contiguous();
  auto sin_table = sin.contiguous();
  auto slots = write_slots.to(at::kLong).contiguous();
  float* q_data = queries.data_ptr<float>();
  const float* k_data = keys.data_ptr<float>();
  const float* v_data = values.data_ptr<float>();
  const float* cos_data = cos_table.data_ptr<float>();
  const float* sin_data = sin_table.data_ptr<float>();
  const int64_t* slot_data = slots.data_ptr<int64_t>();
  float* key_pool = pool_keys.data_ptr<float>();
  float* value_pool = pool_values.data_ptr<float>();
  at::parallel_for(0, B * T, rows_per_task((H + 2 * Hkv) * D), [&](int64_t begin, int64_t end) {
    for (int64_t token = begin; token < end; ++token) {
      const float* token_cos = cos_data + token * D;
      const float* token_sin = sin_data + token * D;
      for (int64_t head = 0; head < H; ++head) {
        float* query = q_data + (token * H + head) * D;
        rotate_head(query, token_cos, token_sin, query, D);
      }
      const int64_t slot = slot_data[token];
      for (int64_t head = 0; head < Hkv; ++head) {
        const int64_t source = (token * Hkv + head) * D;
        float* key_slot = key_pool + head * head_stride + slot * D;
        rotate_head(k_data + source, token_cos, token_sin, key_slot, D);
        std::copy(v_data + source, v_data + source + D, value_pool + head * head_stride + slot * D);
      }
    }
  });
  return queries;
}

}  // namespace empo::model
