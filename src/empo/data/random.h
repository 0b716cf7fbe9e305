#pragma once
// Seeded randomness that gives the same numbers on every platform: std::mt19937_64 and
// std::seed_seq are fully specified by the standard, but the std distributions and
// std::shuffle are not, so data orders and generated tasks draw through these helpers.
#include <cstdint>
#include <initializer_list>
#include <random>

namespace empo::data {

// An engine seeded from several 64-bit values (e.g. {seed, epoch}) through std::seed_seq.
std::mt19937_64 seeded_engine(std::initializer_list<std::uint64_t> values);

// A uniform integer in [0, bound), bound > 0 (rejection sampling, no modulo bias).
std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t bound);

}  // namespace empo::data
