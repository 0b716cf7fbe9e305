#pragma once
// Flags that several commands share.
#include <CLI/CLI.hpp>

#include "empo/reward/equivalence.h"

namespace empo::cli {

// --tolerance and --time-limit-ms of math equivalence (grade, cluster).
inline void add_equivalence_options(CLI::App* command, reward::EquivalenceConfig& equivalence) {
  command
      ->add_option("--tolerance", equivalence.relative_tolerance,
                   "Relative tolerance of numeric agreement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--time-limit-ms", equivalence.time_limit_ms,
                   "Per-comparison time bound; past it the answers are not equivalent (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

}  // namespace empo::cli
