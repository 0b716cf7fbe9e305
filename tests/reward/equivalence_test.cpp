#include "empo/reward/equivalence.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "empo/io/jsonl.h"
#include "test_support.h"

namespace empo::reward {

namespace {

struct LabelledPair {
  bool equivalent;
  std::string a;
  std::string b;
  int line;
};

// tests/fixtures/reward/equivalence_pairs.tsv: label<TAB>a<TAB>b, "<empty>" for "".
std::vector<LabelledPair> labelled_pairs() {
  std::ifstream in(test::fixture("reward/equivalence_pairs.tsv"));
  std::vector<LabelledPair> pairs;
  std::string line;
  int number = 0;
  auto cell = [](const std::string& text) { return text == "<empty>" ? std::string() : text; };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    size_t first = line.find('\t');
    size_t second = line.find('\t', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      ADD_FAILURE() << "pairs file line " << number << " lacks two tabs";
      continue;
    }
    pairs.push_back({line[0] == '1', cell(line.substr(first + 1, second - first - 1)),
                     cell(line.substr(second + 1)), number});
  }
  return pairs;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The same answer written differently: \dfrac -> \frac, \left( \right) dropped, and extra
// spaces around '+', '=' and before every command.
std::string rewritten(const std::string& answer) {
  std::string text = replace_all(answer, "\\dfrac", "\\frac");
  text = replace_all(text, "\\left(", "(");
  text = replace_all(text, "\\right)", ")");
  std::string out = "  ";
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      out += " \\";
      out += text[++i];
    } else if (c == '+' || c == '=') {
      out += std::string(" ") + c + " ";
    } else {
      out += c;
    }
  }
  return out + " ";
}

std::vector<std::string> benchmark_ground_truths() {
  std::vector<std::string> answers;
  for (const char* name : {"aime24", "amc23", "math500", "minerva_math", "olympiadbench"}) {
    std::string path = test::source_path(std::string("data/benchmarks/") + name + ".jsonl");
    io::for_each_jsonl(path, [&](const io::Json& row, long) {
      for (const auto& answer : row.at("reward_model").at("ground_truth")) {
        answers.push_back(answer.get<std::string>());
      }
    });
  }
  return answers;
}

std::string repeat(const std::string& text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

}  // namespace

TEST(Equivalence, LabelledPairs) {
  std::vector<LabelledPair> pairs = labelled_pairs();
  ASSERT_GE(pairs.size(), 150u);
  int positives = 0;
  for (const LabelledPair& pair : pairs) {
    positives += pair.equivalent;
    EXPECT_EQ(equivalent(pair.a, pair.b), pair.equivalent)
        << "line " << pair.line << ": [" << pair.a << "] vs [" << pair.b << "]\n  "
        << describe(parse_answer(pair.a)) << "\n  " << describe(parse_answer(pair.b));
    EXPECT_EQ(equivalent(pair.b, pair.a), pair.equivalent) << "not symmetric, line " << pair.line;
  }
  EXPECT_GE(positives, 50);
  EXPECT_GE(static_cast<int>(pairs.size()) - positives, 50);
}

// Every ground truth of the five benchmarks parses, equals itself and a rewritten form.
TEST(Equivalence, BenchmarkGroundTruthsParseAndMatchTheirRewrites) {
  std::vector<std::string> answers = benchmark_ground_truths();
  ASSERT_EQ(answers.size(), 1517u);
  int math = 0;
  int text = 0;
  int choice = 0;
  for (const std::string& answer : answers) {
    MathValue value = parse_answer(answer);
    ASSERT_NE(value.kind, ValueKind::empty) << answer;
    ASSERT_NE(value.kind, ValueKind::invalid) << answer << ": " << value.text;
    if (is_math(value)) ++math;
    if (value.kind == ValueKind::text) ++text;
    if (value.kind == ValueKind::choice) ++choice;
    EXPECT_TRUE(equivalent(answer, answer)) << answer;
    std::string other = rewritten(answer);
    EXPECT_TRUE(equivalent(answer, other)) << "[" << answer << "] vs [" << other << "]";
    EXPECT_TRUE(equivalent(other, answer)) << "[" << other << "] vs [" << answer << "]";
  }
  std::cout << "[ coverage ] of " << answers.size() << " ground truths: " << math
            << " parse as math, " << choice << " as a choice letter, " << text
            << " fall back to text\n";
  EXPECT_EQ(math + text + choice, static_cast<int>(answers.size()));
  EXPECT_GE(math, 1400);
}

TEST(Equivalence, ToleranceIsConfigurable) {
  EXPECT_FALSE(equivalent("0.33", "\\frac{1}{3}"));
  EquivalenceConfig loose;
  loose.relative_tolerance = 0.02;
  EXPECT_TRUE(equivalent("0.33", "\\frac{1}{3}", loose));
  EXPECT_TRUE(equivalent("\\pi", "3.14", loose));
  EXPECT_FALSE(equivalent("99", "100", loose));  // integers stay exact
}

TEST(Equivalence, RandomPointsAreDeterministic) {
  EquivalenceConfig config;
  for (uint64_t seed : {1ULL, 2ULL, 12345ULL}) {
    config.seed = seed;
    for (int repeat_index = 0; repeat_index < 3; ++repeat_index) {
      EXPECT_TRUE(equivalent("\\frac{x^2-1}{x-1}", "x+1", config));
      EXPECT_FALSE(equivalent("x^2", "x^3", config));
    }
  }
}

TEST(Equivalence, SymbolicCheckCatchesFloatingPointCancellation) {
  // At any random point the two sides differ by rounding of 10^30-sized terms; the exact
  // difference is zero.
  EXPECT_TRUE(equivalent("(x+10^{30})^2 - 10^{60} - 2 \\cdot 10^{30} x", "x^2"));
}

TEST(Equivalence, VerdictsAndEmptyAnswers) {
  EXPECT_EQ(compare_answers("1/2", "0.5"), Verdict::equivalent);
  EXPECT_EQ(compare_answers("1/2", "0.6"), Verdict::different);
  EXPECT_EQ(compare_answers("", ""), Verdict::different);
  EXPECT_EQ(compare_answers("", "x"), Verdict::different);
  EXPECT_EQ(compare_answers("10^{10^{10^{10}}}", "10^{10^{10^{10}}}"), Verdict::bound_exceeded);
}

TEST(Equivalence, AdversarialInputsFinishWithinTheBound) {
  const std::pair<std::string, std::string> cases[] = {
      {"10^{10^{10^{10}}}", "10^{10^{10^{10}}}"},
      {"10^10^10^10", "1"},
      {"(10^6)!", "(10^6)!"},
      {repeat("(", 10000) + "1" + repeat(")", 10000), "1"},
      {repeat("\\sqrt{", 10000) + "2" + repeat("}", 10000), "2"},
      {repeat("x+", 20000) + "x", "20001x"},
      {repeat("x", 200 * 1024), "x"},
      {"(x+y+z)^{100}", "2(x+y+z)^{100}"},
      {"(10^{2000}+x)^{1999}", "2(10^{2000}+x)^{1999}"},
      {"(\\sqrt{2}+1)^{1999}", "2(\\sqrt{2}+1)^{1999}"},
      {"\\sin(10^{1999})", "0"},
      {"e^{e^{e^{100}}}", "e^{e^{e^{100}}}+1"},
      {"\\frac{1}{a+b+c+d+f+g+1}+\\frac{1}{a+b+c+d+f+g+2}+\\frac{1}{a+b+c+d+f+g+3}",
       "\\frac{1}{a+b+c+d+f+g+4}"},
      {repeat("9", 2000) + repeat("\\cdot " + repeat("9", 1999), 49), "1"},
      // A huge integer in a symbolic exponent: 2^(k-N) splits into 2^k * 2^(-N) (fuzz).
      {"2^{k-55555555555555555555555555555555551}\t\\frac{2^k}{2}", "1"},
      {"2^{k-55555555555555555555555555555555551}", "\\frac{2^k}{2}"},
      {"3^{10^{40} x}", "3^{x}"},
  };
  EquivalenceConfig config;
  for (const auto& [a, b] : cases) {
    auto started = std::chrono::steady_clock::now();
    Verdict verdict = compare_answers(a, b, config);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // A hang guard with room for a loaded machine, not a benchmark.
    EXPECT_LT(ms, 1000.0) << a.substr(0, 50);
    if (a.size() > 100 * 1024 || a.find("10^{10") != std::string::npos ||
        a.find("(10^6)!") != std::string::npos) {
      EXPECT_EQ(verdict, Verdict::bound_exceeded) << a.substr(0, 50);
    }
    // Work bounds, not a clock: the verdict is the same on every run.
    for (int run = 0; run < 2; ++run) EXPECT_EQ(compare_answers(a, b, config), verdict);
  }
  // 10^4-deep nesting is past the depth bound: never equal, even to itself.
  std::string deep = repeat("(", 10000) + "1" + repeat(")", 10000);
  EXPECT_FALSE(equivalent(deep, deep));
  EXPECT_FALSE(equivalent("\\sin(10^{1999})", "0"));  // CLN cannot evaluate this point
}

// The least work budget under which a pair is decided is a property of the pair, not of
// the machine: found by bisection, it is the same on every run, below it the verdict is
// "bound exceeded", at it the pair is decided.
TEST(Equivalence, WorkBoundTriggersDeterministically) {
  const std::pair<std::string, std::string> cases[] = {
      {"\\frac{x^2-1}{x-1}", "x+1"},
      {"(x+10^{30})^2 - 10^{60} - 2 \\cdot 10^{30} x", "x^2"},
      {"\\{1, 2, 3, 4, 5, 6\\}", "\\{6, 5, 4, 3, 2, 1\\}"},
  };
  for (const auto& [a, b] : cases) {
    MathValue left = parse_answer(a);
    MathValue right = parse_answer(b);
    auto least_work = [&]() {
      EquivalenceConfig config;
      long low = 0;  // bound exceeded
      long high = config.max_work;
      while (high - low > 1) {
        config.max_work = (low + high) / 2;
        (compare(left, right, config) == Verdict::bound_exceeded ? low : high) = config.max_work;
      }
      return high;
    };
    long work = least_work();
    EXPECT_EQ(least_work(), work) << a;
    EquivalenceConfig config;
    config.max_work = work;
    EXPECT_EQ(compare(left, right, config), Verdict::equivalent) << a;
    config.max_work = work - 1;
    EXPECT_EQ(compare(left, right, config), Verdict::bound_exceeded) << a;
  }
  // The count of numeric evaluations is a bound of its own.
  EquivalenceConfig config;
  config.max_evaluations = 1;
  EXPECT_EQ(compare_answers("\\frac{x^2-1}{x-1}", "x+1", config), Verdict::bound_exceeded);
  config.max_evaluations = 6;
  EXPECT_EQ(compare_answers("\\frac{x^2-1}{x-1}", "x+1", config), Verdict::equivalent);
}

// A pathological pair spends the whole budget and returns the same verdict every time.
TEST(Equivalence, PathologicalPairIsBoundedAndStable) {
  std::string big_set = "\\{";
  for (int i = 0; i < 100; ++i) big_set += (i ? ", x+" : "x+") + std::to_string(i) + "y";
  big_set += "\\}";
  std::string other = big_set;
  other.replace(other.rfind("99"), 2, "100");
  for (int run = 0; run < 3; ++run) {
    EXPECT_EQ(compare_answers(big_set, other), Verdict::bound_exceeded);
  }
  EquivalenceConfig config;
  config.max_work = 1L << 40;
  config.max_evaluations = 1L << 30;
  EXPECT_EQ(compare_answers(big_set, other, config), Verdict::different);
}

// Families of answers that mean the same but are written differently (our own cases); each
// with near misses that must stay different.
struct FamilyCase {
  const char* a;
  const char* b;
  bool equivalent;
};

void expect_family(const std::vector<FamilyCase>& cases) {
  for (const FamilyCase& pair : cases) {
    EXPECT_EQ(equivalent(pair.a, pair.b), pair.equivalent)
        << "[" << pair.a << "] vs [" << pair.b << "]\n  " << describe(parse_answer(pair.a))
        << "\n  " << describe(parse_answer(pair.b));
    EXPECT_EQ(equivalent(pair.b, pair.a), pair.equivalent) << "not symmetric";
  }
}

TEST(EquivalenceFamilies, LabelledAnswers) {
  expect_family({
      {"PQ=7, RS=9", "7, 9", true},
      {"PQ=7, RS=9", "9, 7", true},  // a bare list is a set
      {"PQ=7, RS=9", "7, 10", false},
      {"V_1:V_2=11:21", "11:21", true},
      {"V_1:V_2=11:21", "\\frac{11}{21}", true},
      {"V_1:V_2=11:21", "21:11", false},
      {"\\frac{PA}{PB}=\\frac{2}{\\sqrt5}", "\\frac{2\\sqrt5}{5}", true},
      {"\\frac{PA}{PB}=\\frac{2}{\\sqrt5}", "\\frac{\\sqrt5}{2}", false},
      {"a=3,b=4;a=5,b=1", "(3,4),(5,1)", true},
      {"a=3,b=4;a=5,b=1", "(5,1),(3,4)", true},
      {"a=3,b=4;a=5,b=1", "(4,3),(1,5)", false},
      {"xy = 6", "6", true},       // math-verify: a left side of symbols only is a label
      {"2x + z = 1", "1", false},  // an equation is not its right side
      {"x = 2", "2", true},
  });
}

TEST(EquivalenceFamilies, MatricesInEveryEnvironment) {
  expect_family({
      {"\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
       "\\left[\\begin{array}{cc}1&2\\\\3&4\\end{array}\\right]", true},
      {"\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
       "\\left[\\begin{array}{cc}1&2\\\\4&3\\end{array}\\right]", false},
      {"\\begin{array}{c}5\\\\-1\\end{array}", "(5,-1)", true},
      // Sums, scalar multiples and products of matrices (products in order).
      {"\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}+\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}",
       "\\begin{pmatrix}2&0\\\\0&2\\end{pmatrix}", true},
      {"2\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}2&4\\\\6&8\\end{bmatrix}",
       true},
      {"-\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}-1&-2\\\\-3&-4\\end{pmatrix}",
       true},
      {"\\begin{pmatrix}1&1\\\\0&1\\end{pmatrix}\\begin{pmatrix}1&0\\\\1&1\\end{pmatrix}",
       "\\begin{pmatrix}2&1\\\\1&1\\end{pmatrix}", true},
      {"\\begin{pmatrix}1&0\\\\1&1\\end{pmatrix}\\begin{pmatrix}1&1\\\\0&1\\end{pmatrix}",
       "\\begin{pmatrix}2&1\\\\1&1\\end{pmatrix}", false},
      {"\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}+1", "\\begin{pmatrix}2&3\\\\4&5\\end{pmatrix}",
       false},
  });
}

TEST(EquivalenceFamilies, FunctionsOfConstants) {
  expect_family({
      {"\\gcd(84, 120)", "12", true},
      {"\\operatorname{lcm}(4, 6)", "12", true},
      {"\\gcd(84, 120)", "24", false},
      {"\\max(2, \\sqrt{5}, \\frac{9}{4})", "2.25", true},
      {"\\max(2, \\sqrt{5})", "\\sqrt5", true},
      {"\\min(2, \\sqrt{5}, \\frac{9}{4})", "2", true},
      {"\\max(2, \\sqrt{5})", "2", false},
      {"{7 \\choose 3}", "35", true},
      {"{7 \\choose 3}", "\\binom{7}{4}", true},
      {"{7 \\choose 3}", "21", false},
      {"\\sum_{k=1}^{20} k", "210", true},
      {"\\sum_{i=1}^{4} i^2", "30", true},  // the index i is not sqrt(-1)
      {"\\sum_{k=0}^{3} 2^k", "16", false},
      {"\\prod_{k=1}^{5} k", "5!", true},
      {"\\sum_{j=1}^{n} j^3", "\\sum_{j=1}^{n} j^3", true},
      {"\\sum_{j=1}^{n} j^3", "\\sum_{j=1}^{n} j^2", false},
  });
}

TEST(EquivalenceFamilies, PercentWordsCurrencyAndUnits) {
  expect_family({
      {"35 pct", "35\\%", true},
      {"35 percentage", "35", true},
      {"35 pct", "36", false},
      {"2,500.50\xE2\x82\xAC", "2500.5", true},
      {"\xC2\xA3"
       "12",
       "12", true},
      {"12\\text{ m}^2", "12", true},
      {"12 \\mathrm{s}", "12", true},
      {"x\xC2\xB2 + 1", "x^2+1", true},
      {"x\xC2\xB3", "x^2", false},
  });
}

TEST(EquivalenceFamilies, Relations) {
  expect_family({
      {"3 != 4", "3 \\neq 4", true},
      {"3 != 4", "4", false},  // not 3! = 4
      {"x != 2", "x \\ne 2", true},
      {"x \xE2\x89\xA0 2", "x \\neq 2", true},
      {"x \\neq 2", "x = 2", false},
      {"-2x > -4", "x < 2", true},
      {"-2x > -4", "x \\le 2", false},
      {"-2x > -4", "x > 2", false},
      {"3 - x \\geq 1", "x \\leq 2", true},
      {"\\frac{x}{2} + 1 < 0", "(-\\infty, -2)", true},
      {"3x+6y-9=0", "y=-\\frac12x+\\frac32", true},
      {"y = 2x + 1", "2x - y + 1 = 0", true},
      {"y = 2x + 1", "2x - y - 1 = 0", false},
      {"\xE2\x88\x85", "\\emptyset", true},
      {"\xE2\x88\x85", "\\{0\\}", false},
      {"x \xE2\x88\x88 [1, 2]", "[1,2]", true},
      {"\xCE\xB8 + \xCF\x80", "\\theta + \\pi", true},
  });
}

TEST(EquivalenceFamilies, CommutativityAndSeparators) {
  expect_family({
      {"F_k F_{n-k-1}", "F_{n-k-1} F_k", true},
      {"\\sum_{k=0}^{n-1} F_k F_{n-k-1}", "\\sum_{k=0}^{n-1} F_{n-k-1} F_k", true},
      {"\\sum_{k=0}^{n-1} F_k F_{n-k-1}", "\\sum_{k=0}^{n-1} F_k F_{n-k}", false},
      {"\\sum_{k=1}^{3} F_k", "3 F_k", false},  // subscripted unknowns: held, not expanded
      {"2 \\quad 3", "2, 3", true},
      {"2 \\quad 3", "6", false},  // not a product
      {"x = 1 \\qquad y = 2", "1, 2", true},
      {"4 \\text{ and } 9", "9, 4", true},
      {"4 and 9", "\\{4, 9\\}", true},
      {"5 \\quad \\text{cm}", "5", true},
  });
}

// Truly ambiguous answers stay unequal.
TEST(EquivalenceFamilies, AmbiguousStayDifferent) {
  expect_family({
      {"(1,3)", "\\{1,3\\}", false},
      {"1-1/e", "1+1/e", false},
      {"[1,3]", "(1,3)", false},
      {"2:3", "3:2", false},
  });
}

TEST(Equivalence, DivisionByZeroIsHandled) {
  EXPECT_FALSE(equivalent("\\frac{1}{0}", "0"));
  EXPECT_FALSE(equivalent("\\frac{1}{0}", "\\infty"));
  EXPECT_FALSE(equivalent("\\frac{1}{x-x}", "1"));
}

}  // namespace empo::reward
