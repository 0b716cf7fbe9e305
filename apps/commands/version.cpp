// `empo version`: the build's version, the libtorch it links and what that libtorch can use.
#include <iostream>

#include "command.h"
#include "empo/model/runtime.h"

namespace {

void add_version(CLI::App& app) {
  auto* command = app.add_subcommand("version", "Print the empo and libtorch versions and CUDA");
  command->callback([] {
    const auto info = empo::model::build_info();
    std::cout << "empo 0.1.0\n"
              << "libtorch " << info.torch_version << "\n"
              << "cuda compiled in: " << (info.cuda_compiled_in ? "yes" : "no") << "\n"
              << "cuda memory info compiled in: " << (info.cuda_memory_info ? "yes" : "no") << "\n"
              << "cuda graphs compiled in: " << (info.cuda_graphs ? "yes" : "no") << "\n"
              << "gpus visible: " << info.gpus_visible << "\n"
              << "attention: "
              << (info.fused_attention ? "sdpa (fused kernels)" : "sdpa (math path), eager default")
              << "\n";
  });
}

EMPO_COMMAND(add_version);

}  // namespace
