#pragma once
// Rotary position embedding frequencies, as transformers' ROPE_INIT_FUNCTIONS compute them for
// the rope types Llama-3.x and Qwen2.5 checkpoints use:
//   default: inv_freq[i] = theta^(-2i / head_dim);
//   linear:  default / factor (positions interpolated by factor);
//   llama3:  low frequencies (wavelength > original_max_position_embeddings / low_freq_factor)
//            divided by factor, high ones (< original / high_freq_factor) kept, a smooth blend
//            between (Llama-3.1/3.2);
//   yarn:    interpolation and extrapolation blended by a linear ramp over the dimensions
//            between the correction range of beta_fast and beta_slow rotations, and cos/sin
//            scaled by attention_factor (0.1 ln(factor) + 1 unless given; Qwen2.5 long context).
// Torch-free, so the config reader that fills it stays fuzzable.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace empo::model {

struct RopeScaling {
  enum class Type { none, linear, llama3, yarn };
  Type type = Type::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;                   // llama3
  double high_freq_factor = 4.0;                  // llama3
  double original_max_position_embeddings = 0.0;  // llama3, yarn
  double beta_fast = 32.0;                        // yarn
  double beta_slow = 1.0;                         // yarn
  double attention_factor = 1.0;                  // yarn: scales cos and sin
  bool truncate = true;                           // yarn: integer correction range
};

// The "rope_parameters" (or legacy "rope_scaling") object of a config.json; rope_theta is read
// by the caller. max_position_embeddings fills yarn's defaults as transformers does. Throws
// InputError naming `source` and the key for an unknown type or a missing or bad field.
RopeScaling parse_rope_scaling(const nlohmann::json& rope, int64_t max_position_embeddings,
                               const std::string& source);
const char* rope_type_name(RopeScaling::Type type);

// inv_freq, head_dim / 2 values.
std::vector<double> rope_inverse_frequencies(const RopeScaling& scaling, double theta,
                                             int64_t head_dim);

}  // namespace empo::model
