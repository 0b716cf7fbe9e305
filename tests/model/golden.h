#pragma once
// Goldens from Hugging Face transformers (tests/fixtures/<family>-tiny/goldens.safetensors).
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "empo/model/weights.h"
#include "test_support.h"

namespace empo::test {

// Every golden test runs once per family and attention implementation.
struct GoldenCase {
  std::string family;  // qwen2 | qwen3
  model::AttnImplementation attn_implementation;
};

inline std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const char* family : {"qwen2", "qwen3"})
    for (auto attn : {model::AttnImplementation::sdpa, model::AttnImplementation::eager})
      cases.push_back({family, attn});
  return cases;
}

// gtest's name for a case: "qwen2_sdpa".
template <class ParamInfo>
std::string golden_case_name(const ParamInfo& info) {
  return info.param.family + "_" + model::to_string(info.param.attn_implementation);
}

inline model::Model load_golden_model(const GoldenCase& golden, const std::string& subfolder = "") {
  model::LoadOptions options;
  options.attn_implementation = golden.attn_implementation;
  return model::load_model(fixture(golden.family + "-tiny" + subfolder), options);
}

inline std::map<std::string, at::Tensor> load_goldens(const std::string& family) {
  return model::load_tensor_file(fixture(family + "-tiny/goldens.safetensors"));
}

// Largest |a - b| over the positions where mask (B, T) is set; a, b (B, T, ...).
inline double max_abs_error_where(const at::Tensor& a, const at::Tensor& b,
                                  const at::Tensor& mask) {
  auto keep = mask.to(at::kBool);
  return (a.index({keep}) - b.index({keep})).abs().max().item<double>();
}

inline double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() /
         std::max(expected.abs().max().item<double>(), 1e-12);
}

}  // namespace empo::test
