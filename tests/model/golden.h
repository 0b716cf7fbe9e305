#pragma once
// Goldens from Hugging Face transformers (tests/fixtures/<family>-tiny/goldens.safetensors).
#include <torch/torch.h>

#include <map>
#include <string>

#include "empo/model/weights.h"
#include "test_support.h"

namespace empo::test {

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
