#include "empo/model/rope.h"

#include <algorithm>
#include <cmath>

#include "empo/io/error.h"

namespace empo::model {
namespace {

using Json = nlohmann::json;

constexpr double kPi = 3.14159265358979323846;

const Json* field(const Json& rope, const char* key) {
  auto found = rope.find(key);
  return found == rope.end() || found->is_null() ? nullptr : &*found;
}

double positive(const Json& rope, const char* key, const std::string& source, const char* type,
                const double* fallback = nullptr) {
  const Json* value = field(rope, key);
  if (!value) {
    if (fallback) return *fallback;
    throw_input_error(source, 0, std::string("rope type \"") + type + "\" needs \"" + key + "\"");
  }
  if (!value->is_number() || !(value->get<double>() > 0) || !std::isfinite(value->get<double>()))
    throw_input_error(source, 0, std::string("rope \"") + key + "\" must be a positive number");
  return value->get<double>();
}

// The attention scale YaRN's paper gives (its equation 21).
double yarn_mscale(double scale, double mscale = 1.0) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

const char* rope_type_name(RopeScaling::Type type) {
  switch (type) {
    case RopeScaling::Type::none:
      return "default";
    case RopeScaling::Type::linear:
      return "linear";
    case RopeScaling::Type::llama3:
      return "llama3";
    case RopeScaling::Type::yarn:
      return "yarn";
  }
  return "default";
}

RopeScaling parse_rope_scaling(const Json& rope, int64_t max_position_embeddings,
                               const std::string& source) {
  RopeScaling scaling;
  std::string type = "default";
  for (const char* key : {"rope_type", "type"})
    if (const Json* value = field(rope, key)) {
      if (!value->is_string())
        throw_input_error(source, 0, std::string("rope \"") + key + "\" must be a string");
      type = value->get<std::string>();
      break;
    }
  if (const Json* partial = field(rope, "partial_rotary_factor");
      partial && !(partial->is_number() && partial->get<double>() == 1.0))
    throw_input_error(source, 0, "partial_rotary_factor other than 1 is not supported");
  const double context = static_cast<double>(max_position_embeddings);
  if (type == "default") return scaling;
  if (type == "linear") {
    scaling.type = RopeScaling::Type::linear;
    scaling.factor = positive(rope, "factor", source, "linear");
  } else if (type == "llama3") {
    scaling.type = RopeScaling::Type::llama3;
    scaling.factor = positive(rope, "factor", source, "llama3");
    scaling.low_freq_factor = positive(rope, "low_freq_factor", source, "llama3");
    scaling.high_freq_factor = positive(rope, "high_freq_factor", source, "llama3");
    scaling.original_max_position_embeddings =
        positive(rope, "original_max_position_embeddings", source, "llama3");
    if (scaling.high_freq_factor <= scaling.low_freq_factor)
      throw_input_error(source, 0, "rope high_freq_factor must exceed low_freq_factor");
  } else if (type == "yarn") {
    scaling.type = RopeScaling::Type::yarn;
    scaling.original_max_position_embeddings =
        positive(rope, "original_max_position_embeddings", source, "yarn", &context);
    const double derived = context / scaling.original_max_position_embeddings;
    scaling.factor = positive(rope, "factor", source, "yarn", &derived);
    const double one = 1.0, thirty_two = 32.0;
    scaling.beta_fast = positive(rope, "beta_fast", source, "yarn", &thirty_two);
    scaling.beta_slow = positive(rope, "beta_slow", source, "yarn", &one);
    if (field(rope, "attention_factor")) {
      scaling.attention_factor = positive(rope, "attention_factor", source, "yarn");
    } else {
      const Json* mscale = field(rope, "mscale");
      const Json* mscale_all_dim = field(rope, "mscale_all_dim");
      const bool both = mscale && mscale_all_dim && mscale->is_number() &&
                        mscale_all_dim->is_number() && mscale->get<double>() != 0 &&
                        mscale_all_dim->get<double>() != 0;
      scaling.attention_factor =
          both ? yarn_mscale(scaling.factor, mscale->get<double>()) /
                     yarn_mscale(scaling.factor, mscale_all_dim->get<double>())
               : yarn_mscale(scaling.factor);
    }
    if (const Json* truncate = field(rope, "truncate")) {
      if (!truncate->is_boolean())
        throw_input_error(source, 0, "rope \"truncate\" must be true or false");
      scaling.truncate = truncate->get<bool>();
    }
  } else {
    throw_input_error(
        source, 0, "rope_type \"" + type + "\" is not supported (default, linear, llama3 or yarn)");
  }
  return scaling;
}

std::vector<double> rope_inverse_frequencies(const RopeScaling& scaling, double theta,
                                             int64_t head_dim) {
  const int64_t half = head_dim / 2;
  const double dim = static_cast<double>(head_dim);
  std::vector<double> inverse(static_cast<size_t>(half));
  // In float32, as transformers computes it (and as the checkpoints were trained).
  for (int64_t i = 0; i < half; ++i)
    inverse[static_cast<size_t>(i)] =
        1.0f / std::pow(static_cast<float>(theta),
                        static_cast<float>(2 * i) / static_cast<float>(head_dim));
  switch (scaling.type) {
    case RopeScaling::Type::none:
      break;
    case RopeScaling::Type::linear:
      for (double& value : inverse) value /= scaling.factor;
      break;
    case RopeScaling::Type::llama3: {
      const double old_context = scaling.original_max_position_embeddings;
      const double low_wavelength = old_context / scaling.low_freq_factor;
      const double high_wavelength = old_context / scaling.high_freq_factor;
      for (double& value : inverse) {
        const double wavelength = 2.0 * kPi / value;
        if (wavelength > low_wavelength) {
          value /= scaling.factor;
        } else if (wavelength >= high_wavelength) {  // between: blend scaled and unscaled
          const double smooth = (old_context / wavelength - scaling.low_freq_factor) /
                                (scaling.high_freq_factor - scaling.low_freq_factor);
          value = (1.0 - smooth) * value / scaling.factor + smooth * value;
        }
      }
      break;
    }
    case RopeScaling::Type::yarn: {
      const double original = scaling.original_max_position_embeddings;
      // The dimension whose wavelength makes `rotations` turns over the original context.
      auto correction_dim = [&](double rotations) {
        return dim * std::log(original / (rotations * 2.0 * kPi)) / (2.0 * std::log(theta));
      };
      double low = correction_dim(scaling.beta_fast);
      double high = correction_dim(scaling.beta_slow);
      if (scaling.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, dim - 1.0);
      if (low == high) high += 0.001;  // no zero-width ramp
      for (int64_t i = 0; i < half; ++i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        const double extrapolation = 1.0 - ramp;
        double& value = inverse[static_cast<size_t>(i)];
        value = value / scaling.factor * (1.0 - extrapolation) + value * extrapolation;
      }
      break;
    }
  }
  return inverse;
}

}  // namespace empo::model
