#include "empo/reward/equivalence.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

namespace empo::reward {

namespace {

using GiNaC::ex;
using GiNaC::ex_to;
using GiNaC::is_a;
using GiNaC::is_exactly_a;
using GiNaC::numeric;

// Thrown when a comparison spends its work budget.
struct OutOfWork {};

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t name_hash(const std::string& name) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

// The value of variable `name` at evaluation point `point`: a function of the name, not of
// the other variables or of the order in which answers arrive.
double point_value(const std::string& name, int point, uint64_t seed) {
  uint64_t bits = splitmix64(name_hash(name) ^ splitmix64(seed + static_cast<uint64_t>(point)));
  double unit = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
  if (name == "\\infty") return 1e6 * (1 + unit);
  return 0.3 + 1.4 * unit;  // positive, away from 0 and 1 where forms coincide
}

void collect_symbols(const ex& expression, std::map<std::string, ex>* symbols) {
  if (is_a<GiNaC::symbol>(expression)) {
    symbols->emplace(ex_to<GiNaC::symbol>(expression).get_name(), expression);
    return;
  }
  for (size_t i = 0; i < expression.nops(); ++i) collect_symbols(expression.op(i), symbols);
}

// Nodes of the expression tree: what one traversal (subs, evalf, a size estimate) visits.
long double node_count(const ex& expression) {
  long double count = 1;
  for (size_t i = 0; i < expression.nops(); ++i) count += node_count(expression.op(i));
  return count;
}

// Bits of an exact number's numerator plus denominator.
long double numeric_bits(const numeric& value) {
  if (!value.is_crational()) return 64;
  long double bits = 0;
  for (const numeric& part : {value.real(), value.imag()}) {
    bits += GiNaC::abs(part.numer()).int_length() + part.denom().int_length();
  }
  return bits;
}

// Upper estimate of what expand() produces, without expanding: the number of terms and the
// bits of the largest coefficient (binomial coefficients included), so that neither
// (x+y+z)^100 nor (10^2000+x)^1999 is ever expanded.
struct ExpansionSize {
  long double terms = 1;
  long double bits = 0;
};

constexpr long double kSizeCap = 1e18L;

// The integer power expand() multiplies out of base^exponent: all of an integer exponent, and
// the whole part of the number in a sum, since x^(k+n) expands to x^k * x^n.
long double integer_power_expanded(const ex& exponent) {
  ex number;
  if (is_exactly_a<numeric>(exponent)) {
    number = exponent;
  } else if (is_exactly_a<GiNaC::add>(exponent)) {
    for (size_t i = 0; i < exponent.nops(); ++i) {
      if (is_exactly_a<numeric>(exponent.op(i))) number = exponent.op(i);
    }
  }
  if (!is_exactly_a<numeric>(number)) return 0;
  const numeric& value = ex_to<numeric>(number);
  if (!value.is_rational()) return 0;
  if (is_exactly_a<numeric>(exponent) && !value.is_integer()) return 0;
  return std::min<long double>(std::floor(std::fabs(value.to_double())), kSizeCap);
}

ExpansionSize expansion_size(const ex& expression) {
  ExpansionSize size;
  if (is_exactly_a<numeric>(expression)) {
    size.bits = numeric_bits(ex_to<numeric>(expression));
  } else if (is_exactly_a<GiNaC::add>(expression)) {
    size.terms = 0;
    for (size_t i = 0; i < expression.nops(); ++i) {
      ExpansionSize part = expansion_size(expression.op(i));
      size.terms += part.terms;
      size.bits = std::max(size.bits, part.bits);
    }
  } else if (is_exactly_a<GiNaC::mul>(expression)) {
    for (size_t i = 0; i < expression.nops(); ++i) {
      ExpansionSize part = expansion_size(expression.op(i));
      size.terms *= part.terms;
      size.bits += part.bits;
    }
  } else if (is_exactly_a<GiNaC::power>(expression)) {
    size = expansion_size(expression.op(0));
    long double n = integer_power_expanded(expression.op(1));
    if (n > 0) {
      long double k = size.terms;
      size.bits = n * (size.bits + std::log2(std::max<long double>(k, 1)));
      if (k > 1) {
        // Multinomial count C(n+k-1, k-1) for (t_1 + ... + t_k)^n.
        long double log_count = std::lgamma(n + k) - std::lgamma(k) - std::lgamma(n + 1);
        size.terms = log_count > std::log(kSizeCap) ? kSizeCap : std::exp(log_count);
      }
    }
  } else {
    for (size_t i = 0; i < expression.nops(); ++i) {
      ExpansionSize part = expansion_size(expression.op(i));
      size.terms += part.terms;
      size.bits = std::max(size.bits, part.bits);
    }
  }
  size.terms = std::min(size.terms, kSizeCap);
  size.bits = std::min(size.bits, kSizeCap);
  return size;
}

bool small_enough(const ExpansionSize& size, long max_terms, long max_bits) {
  return size.terms <= max_terms && size.terms * size.bits <= max_bits;
}

// Product of the sizes of the denominators normal() would multiply out.
long double denominator_terms(const ex& expression) {
  if (is_exactly_a<GiNaC::power>(expression) && is_exactly_a<numeric>(expression.op(1)) &&
      ex_to<numeric>(expression.op(1)).is_negative()) {
    long double base = expansion_size(expression.op(0)).terms;
    long double n = std::fabs(ex_to<numeric>(expression.op(1)).to_double());
    return base <= 1 ? 1 : std::min(std::pow(base, n), kSizeCap);
  }
  long double total = 1;
  for (size_t i = 0; i < expression.nops(); ++i) {
    total = std::min(total * denominator_terms(expression.op(i)), kSizeCap);
  }
  return total;
}

// CLN evaluates sin, cos, exp, ... of a huge argument at the working precision, which gives
// garbage (sin(10^100) -> 0.0, exp(10^100) -> 1.0): such a point proves nothing.
// Counts the nodes it visits into *nodes (the walk that subs() and evalf() repeat), so that
// the work of an evaluation is known without a walk of its own.
bool reliable_at(const ex& expression, const GiNaC::exmap& point, long double* nodes) {
  *nodes += 1;
  static const char* const sensitive[] = {"sin",  "cos",  "tan",    "exp",      "sinh",
                                          "cosh", "tanh", "tgamma", "floor_of", "ceil_of"};
  if (is_a<GiNaC::function>(expression)) {
    const std::string name = ex_to<GiNaC::function>(expression).get_name();
    // A held sum or product has no numeric value: no point proves anything about it.
    if (name == "sum_of" || name == "product_of") return false;
    for (const char* candidate : sensitive) {
      if (name != candidate) continue;
      ex argument = expression.op(0).subs(point, GiNaC::subs_options::no_pattern).evalf();
      if (!is_exactly_a<numeric>(argument) || GiNaC::abs(ex_to<numeric>(argument)) > 1e8) {
        return false;
      }
    }
  }
  for (size_t i = 0; i < expression.nops(); ++i) {
    if (!reliable_at(expression.op(i), point, nodes)) return false;
  }
  return true;
}

class Comparer {
 public:
  explicit Comparer(const EquivalenceConfig& config)
      : config_(config), tolerance_(config.relative_tolerance) {}

  bool equal(const MathValue& a, const MathValue& b) {
    spend(1);
    if (a.kind != b.kind) {
      // A labelled answer "y = 3/4 - x/2" also equals the same equation in another form.
      if (a.kind == ValueKind::equation && b.kind == ValueKind::expression && b.assignment) {
        return proportional(a.expression, *b.assignment, false);
      }
      if (b.kind == ValueKind::equation && a.kind == ValueKind::expression && a.assignment) {
        return proportional(*a.assignment, b.expression, false);
      }
      return false;
    }
    switch (a.kind) {
      case ValueKind::empty:
      case ValueKind::invalid:
        return false;
      case ValueKind::expression:
        return expressions(a.expression, b.expression);
      case ValueKind::equation:
      case ValueKind::not_equal:
        return proportional(a.expression, b.expression, false);
      case ValueKind::relation:
        return a.strict == b.strict && proportional(a.expression, b.expression, true);
      case ValueKind::tuple:
        if (a.open != b.open || a.close != b.close) return false;
        return in_order(a.items, b.items);
      case ValueKind::matrix:
        return in_order(a.items, b.items);
      case ValueKind::set:
      case ValueKind::union_of:
        return without_order(a.items, b.items);
      case ValueKind::choice:
      case ValueKind::text:
        return a.text == b.text;
    }
    return false;
  }

 private:
  // Work units, counted instead of measured so that the verdict never depends on the clock.
  void spend(long double units) {
    work_ += units;
    if (!(work_ <= static_cast<long double>(config_.max_work))) throw OutOfWork{};
  }

  bool in_order(const std::vector<MathValue>& a, const std::vector<MathValue>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!equal(a[i], b[i])) return false;
    }
    return true;
  }

  // Every item has an equal in the other collection, both ways (sets ignore repeats).
  bool without_order(const std::vector<MathValue>& a, const std::vector<MathValue>& b) {
    if (a.empty() || b.empty()) return a.empty() && b.empty();
    std::vector<std::vector<int>> memo(a.size(), std::vector<int>(b.size(), -1));
    auto same = [&](size_t i, size_t j) {
      if (memo[i][j] < 0) memo[i][j] = equal(a[i], b[j]) ? 1 : 0;
      return memo[i][j] == 1;
    };
    for (size_t i = 0; i < a.size(); ++i) {
      bool found = false;
      for (size_t j = 0; j < b.size() && !found; ++j) found = same(i, j);
      if (!found) return false;
    }
    for (size_t j = 0; j < b.size(); ++j) {
      bool found = false;
      for (size_t i = 0; i < a.size() && !found; ++i) found = same(i, j);
      if (!found) return false;
    }
    return true;
  }

  bool close(const numeric& x, const numeric& y) const {
    numeric difference = GiNaC::abs(x - y);
    numeric scale = std::max(GiNaC::abs(x), GiNaC::abs(y));
    return difference <= tolerance_ * scale;
  }

  // subs() and evalf() walk the tree once each: the cost is its node count.
  std::optional<numeric> evaluate(const ex& expression, const GiNaC::exmap& point) {
    if (++evaluations_ > config_.max_evaluations) throw OutOfWork{};
    try {
      long double nodes = 0;
      bool reliable = reliable_at(expression, point, &nodes);
      spend(2 * nodes);
      if (!reliable) return std::nullopt;
      ex value = expression.subs(point, GiNaC::subs_options::no_pattern).evalf();
      if (is_exactly_a<numeric>(value)) return ex_to<numeric>(value);
    } catch (const std::exception&) {
      // a pole or an overflow at this point: no evidence either way
    }
    return std::nullopt;
  }

  std::vector<GiNaC::exmap> points(const ex& a, const ex& b) const {
    std::map<std::string, ex> symbols;
    collect_symbols(a, &symbols);
    collect_symbols(b, &symbols);
    int count = symbols.empty() ? 1 : std::max(1, config_.random_points);
    std::vector<GiNaC::exmap> result(count);
    for (int point = 0; point < count; ++point) {
      for (const auto& [name, symbol] : symbols) {
        result[point][symbol] = numeric(point_value(name, point, config_.seed));
      }
    }
    return result;
  }

  bool expressions(const ex& a, const ex& b) {
    if (a.is_equal(b)) return true;
    if (is_exactly_a<numeric>(a) && is_exactly_a<numeric>(b)) {
      const numeric& x = ex_to<numeric>(a);
      const numeric& y = ex_to<numeric>(b);
      // Integers are exact answers: 123456789 and 123456790 differ at any tolerance.
      if (x.is_integer() && y.is_integer()) return x == y;
      return close(x, y);
    }
    int agreed = 0;
    for (const GiNaC::exmap& point : points(a, b)) {
      std::optional<numeric> x = evaluate(a, point);
      std::optional<numeric> y = evaluate(b, point);
      if (!x || !y) continue;
      if (!close(*x, *y)) {
        agreed = -1;
        break;
      }
      ++agreed;
    }
    if (agreed > 0) return true;
    // Numbers disagree or cannot be computed: the exact difference may still vanish, e.g.
    // when floating point cancels badly.
    return symbolic_zero(a - b);
  }

  bool symbolic_zero(const ex& difference) {
    spend(node_count(difference));
    ExpansionSize size = expansion_size(difference);
    if (!small_enough(size, config_.max_expand_terms, config_.max_expand_bits)) return false;
    spend(size.terms * (1 + size.bits / 64));
    ex expanded = difference.expand();
    if (expanded.is_zero()) return true;
    std::map<std::string, ex> symbols;
    collect_symbols(expanded, &symbols);
    if (!small_enough(expansion_size(expanded), config_.max_normal_terms,
                      config_.max_expand_bits) ||
        denominator_terms(expanded) > config_.max_normal_terms ||
        static_cast<int>(symbols.size()) > config_.max_normal_symbols) {
      return false;
    }
    spend(config_.max_normal_terms * denominator_terms(expanded) + node_count(expanded));
    return expanded.normal().is_zero();
  }

  // a = c * b for a constant c != 0 (c > 0 when `positive`): equations and inequalities
  // that say the same thing.
  bool proportional(const ex& a, const ex& b, bool positive) {
    if (expressions(a, b)) return true;
    if (!positive && expressions(a, -b)) return true;
    std::optional<numeric> ratio;
    for (const GiNaC::exmap& point : points(a, b)) {
      std::optional<numeric> x = evaluate(a, point);
      std::optional<numeric> y = evaluate(b, point);
      if (!x || !y || y->is_zero() || x->is_zero()) return false;
      numeric here = *x / *y;
      if (ratio && !close(*ratio, here)) return false;
      if (!ratio) ratio = here;
    }
    if (!ratio) return false;
    if (positive && !(ratio->is_real() && ratio->is_positive())) return false;
    return true;
  }

  const EquivalenceConfig& config_;
  numeric tolerance_;
  long double work_ = 0;
  long evaluations_ = 0;
};

}  // namespace

Verdict compare(const MathValue& a, const MathValue& b, const EquivalenceConfig& config) {
  if (a.kind == ValueKind::empty || b.kind == ValueKind::empty) return Verdict::different;
  if (a.kind == ValueKind::invalid || b.kind == ValueKind::invalid) {
    return Verdict::bound_exceeded;
  }
  try {
    return Comparer(config).equal(a, b) ? Verdict::equivalent : Verdict::different;
  } catch (const OutOfWork&) {
    return Verdict::bound_exceeded;
  } catch (const std::exception&) {
    return Verdict::different;  // GiNaC refused the algebra (e.g. a division by zero)
  }
}

Verdict compare_answers(const std::string& a, const std::string& b,
                        const EquivalenceConfig& config) {
  MathValue left = parse_answer(a, config.limits);
  if (left.kind == ValueKind::empty) return Verdict::different;
  MathValue right = parse_answer(b, config.limits);
  return compare(left, right, config);
}

bool equivalent(const std::string& a, const std::string& b, const EquivalenceConfig& config) {
  return compare_answers(a, b, config) == Verdict::equivalent;
}

}  // namespace empo::reward
