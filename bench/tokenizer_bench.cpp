// Encode throughput of the Qwen tokenizer, one thread, on ~4 MB of mixed text (English prose,
// code, Chinese/Japanese, LaTeX maths) generated here from fixed fragments and a fixed seed,
// so every run measures the same input. Bytes/s is reported as "bytes_per_second".
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "empo/text/tokenizer.h"

namespace {

using empo::text::Tokenizer;

const Tokenizer& qwen() {
  static const Tokenizer tokenizer =
      Tokenizer::load(std::string(EMPO_SOURCE_DIR) + "/tests/fixtures/qwen-tokenizer");
  return tokenizer;
}

template <typename T>
const T& pick(const std::vector<T>& items, std::mt19937& random) {
  return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(random)];
}

std::string english(std::mt19937& random) {
  static const std::vector<std::string> subjects = {
      "The model",    "A student",    "Our experiment",     "The committee", "Every function",
      "This theorem", "The reviewer", "My neighbour's cat", "The compiler",  "Nobody"};
  static const std::vector<std::string> verbs = {
      "reconsidered",    "computes",  "doesn't recognise", "will summarise", "has verified",
      "quietly ignored", "optimises", "couldn't explain",  "is evaluating",  "rewrote"};
  static const std::vector<std::string> objects = {"the entropy of its own predictions",
                                                   "a surprisingly elegant counterexample",
                                                   "every unanswered question in the set",
                                                   "the third paragraph of the proposal",
                                                   "two hundred and fifty-six samples",
                                                   "the gradient at each step",
                                                   "an unusually long README",
                                                   "whatever the benchmark reported"};
  static const std::vector<std::string> endings = {".",
                                                   "!",
                                                   "?",
                                                   ", which was unexpected.",
                                                   " before lunch.",
                                                   "; we'd know otherwise.",
                                                   " (see Section 4.2).",
                                                   " in 2024."};
  std::string sentence = pick(subjects, random) + " " + pick(verbs, random) + " " +
                         pick(objects, random) + pick(endings, random);
  if (random() % 5 == 0) sentence += " It cost $" + std::to_string(random() % 100000) + ".";
  return sentence + (random() % 4 == 0 ? "\n\n" : " ");
}

std::string code(std::mt19937& random) {
  static const std::vector<std::string> names = {"total",  "index", "buffer",     "count_tokens",
                                                 "result", "value", "parse_line", "scores"};
  static const std::vector<std::string> lines = {
      "def {a}(x, y=None):\n    return [v * 2 for v in x if v is not None]\n",
      "for (int {a} = 0; {a} < n; ++{a}) {\n  {b}[{a}] += weights[{a}] * 0.5f;\n}\n",
      "if ({a} == nullptr) throw std::runtime_error(\"{b} is missing\");\n",
      "    {a} = {b}.get(\"key\", {})  # fall back to an empty dict\n",
      "const {a} = await fetch(`/api/v1/{b}?page=${page}`);\n",
      "SELECT {a}, COUNT(*) FROM {b} WHERE id > 42 GROUP BY {a};\n"};
  std::string line = pick(lines, random);
  for (const char* placeholder : {"{a}", "{b}"}) {
    std::size_t at;
    const std::string& name = pick(names, random);
    while ((at = line.find(placeholder)) != std::string::npos) line.replace(at, 3, name);
  }
  return line;
}

std::string cjk(std::mt19937& random) {
  static const std::vector<std::string> phrases = {"今天天气很好",
                                                   "我们讨论一下这个问题",
                                                   "模型的熵越低，答案越一致",
                                                   "请一步一步地推理",
                                                   "最终答案是",
                                                   "数学题",
                                                   "机器学习",
                                                   "こんにちは世界",
                                                   "ありがとうございます",
                                                   "東京は日本の首都です",
                                                   "深度学习的训练",
                                                   "非常重要"};
  static const std::vector<std::string> punctuation = {"，", "。", "！", "？", "、", "：", "\n"};
  std::string text;
  int count = 2 + static_cast<int>(random() % 4);
  for (int i = 0; i < count; ++i) text += pick(phrases, random) + pick(punctuation, random);
  return text;
}

std::string latex(std::mt19937& random) {
  static const std::vector<std::string> formulas = {
      "$x^2 + {n}x + {m} = 0$",
      "\\frac{{n}}{{m}}",
      "\\sqrt{{n}} \\approx {m}.{n}",
      "\\int_0^{n} e^{-x^2}\\,dx",
      "\\sum_{k=1}^{{n}} k = \\frac{{n}({n}+1)}{2}",
      "\\boxed{{m}}",
      "\\begin{pmatrix} {n} & {m} \\\\ 0 & 1 \\end{pmatrix}",
      "\\lim_{x \\to \\infty} \\left(1 + \\frac{1}{x}\\right)^x = e"};
  std::string formula = pick(formulas, random);
  for (const char* placeholder : {"{n}", "{m}"}) {
    std::size_t at;
    while ((at = formula.find(placeholder)) != std::string::npos)
      formula.replace(at, 3, std::to_string(random() % 1000));
  }
  return "Therefore " + formula + (random() % 2 ? ".\n" : " and ");
}

const std::string& mixed_text() {
  static const std::string text = [] {
    std::mt19937 random(20240601);
    std::string out;
    while (out.size() < (4u << 20)) {
      switch (random() % 4) {
        case 0:
          out += english(random);
          break;
        case 1:
          out += code(random);
          break;
        case 2:
          out += cjk(random);
          break;
        default:
          out += latex(random);
          break;
      }
    }
    return out;
  }();
  return text;
}

// Text whose words rarely repeat (random syllable words, random ideographs, random numbers),
// so nearly every word misses the word cache: the speed of the merge loop itself.
const std::string& diverse_text() {
  static const std::string text = [] {
    static const std::vector<std::string> syllables = {
        "ka",  "lo", "mi", "tre", "su", "van", "dor", "pel", "qui",  "zen", "bra", "ost",
        "ung", "er", "al", "is",  "ph", "th",  "ck",  "ing", "tion", "ab",  "ex",  "ly"};
    std::mt19937 random(99);
    std::string out;
    while (out.size() < (2u << 20)) {
      int kind = static_cast<int>(random() % 10);
      if (kind < 6) {
        std::string word = random() % 3 == 0 ? " " : "";
        int count = 1 + static_cast<int>(random() % 5);
        for (int i = 0; i < count; ++i) word += pick(syllables, random);
        out += " " + word;
      } else if (kind < 9) {
        int count = 2 + static_cast<int>(random() % 8);
        for (int i = 0; i < count; ++i) {
          auto code_point = 0x4E00 + static_cast<std::uint32_t>(random() % 0x51A5);
          out += static_cast<char>(0xE0 | (code_point >> 12));
          out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code_point & 0x3F));
        }
        out += "，";
      } else {
        out += " " + std::to_string(random()) + (random() % 2 ? "." : ",\n");
      }
    }
    return out;
  }();
  return text;
}

// The whole text as one document.
void BM_EncodeMixedDocument(benchmark::State& state) {
  const Tokenizer& tokenizer = qwen();
  const std::string& text = mixed_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    auto ids = tokenizer.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_EncodeMixedDocument)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The same text as ~1 KB documents, the size of a prompt or a completion.
void BM_EncodeMixedShortTexts(benchmark::State& state) {
  const Tokenizer& tokenizer = qwen();
  const std::string& text = mixed_text();
  std::vector<std::string_view> documents;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = std::min(text.size(), at + 1024);
    // Cut on a character boundary.
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    documents.emplace_back(text.data() + at, end - at);
    at = end;
  }
  std::vector<empo::text::TokenId> ids;
  for (auto _ : state) {
    for (std::string_view document : documents) {
      ids.clear();
      tokenizer.encode_append(document, ids);
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeMixedShortTexts)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_EncodeDiverseWords(benchmark::State& state) {
  const Tokenizer& tokenizer = qwen();
  const std::string& text = diverse_text();
  for (auto _ : state) {
    auto ids = tokenizer.encode(text);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeDiverseWords)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_DecodeMixedDocument(benchmark::State& state) {
  const Tokenizer& tokenizer = qwen();
  const std::string& text = mixed_text();
  auto ids = tokenizer.encode(text);
  for (auto _ : state) {
    auto decoded = tokenizer.decode(ids);
    benchmark::DoNotOptimize(decoded.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_DecodeMixedDocument)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
