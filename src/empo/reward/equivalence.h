#pragma once
// Are two answers the same math? Two expressions are equivalent when they agree
// numerically at several random points (relative tolerance; the points are a fixed function
// of the seed and the variable names, so the decision is deterministic and symmetric) OR
// their difference simplifies to zero (expand, then normal, both skipped when a size
// estimate says they could blow up). Structures compare part by part: tuples and intervals
// in order with the same brackets, sets and unions without order, equations up to a nonzero
// factor, inequalities up to a positive one. Text compares its normal form; the empty answer
// and answers past a bound equal nothing.
//
// Every comparison is bounded by work, never by a clock, so the same two answers give the
// same verdict on any machine under any load: parsing by ParseLimits (parser steps, depth,
// number sizes), the comparison by a budget of work units (`max_work`: one per structural
// step, twice the node count per numeric evaluation, the estimated term count per
// expand/normal, which are only attempted below their size bounds) and a count of numeric
// evaluations (`max_evaluations`). Past a bound the verdict is "bound exceeded", never a hang.
#include <cstdint>
#include <string>

#include "empo/reward/latex.h"

namespace empo::reward {

struct EquivalenceConfig {
  // |a - b| <= tolerance * max(|a|, |b|): 0.33 vs 1/3 differ, 0.3333333 vs 1/3 agree. Two
  // integers compare exactly.
  double relative_tolerance = 1e-6;
  long max_work = 2'000'000;    // work units per comparison (parsing is bounded by `limits`)
  long max_evaluations = 4096;  // numeric evaluations of an expression at a point, per comparison
  int random_points = 3;        // evaluation points for expressions with variables
  uint64_t seed = 0x5eed;
  long max_expand_terms = 2000;     // estimated terms of the expanded difference
  long max_expand_bits = 1L << 20;  // estimated terms x coefficient bits
  long max_normal_terms = 200;      // normal() only on differences up to this size
  int max_normal_symbols = 6;
  ParseLimits limits;
};

enum class Verdict { equivalent, different, bound_exceeded };

// Compares two parsed answers within config.max_work and config.max_evaluations.
Verdict compare(const MathValue& a, const MathValue& b, const EquivalenceConfig& config = {});

// Parses (within config.limits) and compares two extracted answers.
Verdict compare_answers(const std::string& a, const std::string& b,
                        const EquivalenceConfig& config = {});

// compare_answers(...) == Verdict::equivalent.
bool equivalent(const std::string& a, const std::string& b, const EquivalenceConfig& config = {});

}  // namespace empo::reward
