#pragma once
// Flags that several commands share.
#include <CLI/CLI.hpp>

#include "empo/reward/equivalence.h"

namespace empo::cli {

// --tolerance and --max-work of math equivalence (grade, cluster).
inline void add_equivalence_options(CLI::App* command, reward::EquivalenceConfig& equivalence) {
  command
      ->add_option("--tolerance", equivalence.relative_tolerance,
                   "Relative tolerance of numeric agreement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--max-work", equivalence.max_work,
                   "Per-comparison work bound (units, not time: the verdict never depends on "
                   "machine load); past it the answers are not equivalent")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

}  // namespace empo::cli
