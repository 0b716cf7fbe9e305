// A model folder's config.json on arbitrary text: load_model_config must refuse what it cannot
// use with InputError naming the file, never with another exception. An accepted config must
// be one the model stage can build (positive sizes, heads that divide, an even head_dim).
#include <cmath>

#include "empo/io/error.h"
#include "empo/model/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  empo::fuzz::write_scratch_file("config.json", empo::fuzz::as_text(data, size));
  try {
    empo::model::ModelConfig config =
        empo::model::load_model_config(empo::fuzz::scratch_folder().string());
    EMPO_FUZZ_CHECK(config.vocab_size > 0 && config.hidden_size > 0 &&
                        config.intermediate_size > 0 && config.num_hidden_layers > 0,
                    "accepted a non-positive size");
    EMPO_FUZZ_CHECK(config.num_key_value_heads > 0 &&
                        config.num_attention_heads % config.num_key_value_heads == 0,
                    "accepted heads that do not divide");
    EMPO_FUZZ_CHECK(config.head_dim > 0 && config.head_dim % 2 == 0, "accepted an odd head_dim");
    EMPO_FUZZ_CHECK(config.rms_norm_eps > 0 && config.rope_theta > 0, "accepted eps or theta <= 0");
    for (double frequency : empo::model::rope_inverse_frequencies(
             config.rope_scaling, config.rope_theta, config.head_dim))
      EMPO_FUZZ_CHECK(std::isfinite(frequency) && frequency >= 0, "accepted a rope of NaN or Inf");
    nlohmann::json saved = empo::model::model_config_json(config, "bfloat16");
    EMPO_FUZZ_CHECK(saved.is_object(), "saved config is not an object");
    (void)saved.dump();
  } catch (const empo::InputError&) {
  }
  return 0;
}
