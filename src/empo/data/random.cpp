#include "empo/data/random.h"

#include <stdexcept>
#include <vector>

namespace empo::data {

std::mt19937_64 seeded_engine(std::initializer_list<std::uint64_t> values) {
  std::vector<std::uint32_t> words;
  for (std::uint64_t value : values) {
    words.push_back(static_cast<std::uint32_t>(value));
    words.push_back(static_cast<std::uint32_t>(value >> 32));
  }
  std::seed_seq sequence(words.begin(), words.end());
  return std::mt19937_64(sequence);
}

std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t bound) {
  if (bound == 0) throw std::invalid_argument("uniform_below: bound must be > 0");
  std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound: the biased low values
  for (;;) {
    std::uint64_t value = engine();
    if (value >= threshold) return value % bound;
  }
}

}  // namespace empo::data
