// Training-config YAML on arbitrary text, with key=value overrides: parse_config must refuse
// bad input with InputError (naming the key and file:line), never with another exception
// (yaml-cpp's included). An accepted config must survive to_yaml and back unchanged, as
// RUN_DIR/config.yaml and --resume rely on.
//
// Input: the YAML text, then optionally a NUL byte and NUL-separated overrides.
#include "empo/io/error.h"
#include "empo/rl/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = empo::fuzz::as_text(data, size);
  size_t end_of_yaml = input.find('\0');
  std::string yaml(input.substr(0, end_of_yaml));
  std::vector<std::string> overrides;
  while (end_of_yaml != std::string_view::npos) {
    size_t next = input.find('\0', end_of_yaml + 1);
    overrides.emplace_back(input.substr(end_of_yaml + 1, next == std::string_view::npos
                                                             ? std::string_view::npos
                                                             : next - end_of_yaml - 1));
    end_of_yaml = next;
  }
  empo::rl::TrainConfig config;
  try {
    config = empo::rl::parse_config(yaml, "fuzz.yaml", overrides);
  } catch (const empo::InputError&) {
    return 0;
  }
  std::string written = empo::rl::to_yaml(config);
  empo::rl::TrainConfig reread;
  try {
    reread = empo::rl::parse_config(written, "resolved config.yaml");
  } catch (const empo::InputError& error) {
    std::fprintf(stderr, "%s\n%s\n", written.c_str(), error.what());
    EMPO_FUZZ_CHECK(false, "to_yaml wrote a config that parse_config refuses");
  }
  EMPO_FUZZ_CHECK(reread == config, "parse_config(to_yaml(c)) != c");
  return 0;
}
