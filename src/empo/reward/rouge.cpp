#include "empo/reward/rouge.h"

#include <algorithm>

namespace empo::reward {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

bool contains_run(const std::vector<std::string>& haystack,
                  const std::vector<std::string>& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

}  // namespace

std::vector<std::string> rouge_tokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string current;
  for (unsigned char c : text) {
    if (is_word_byte(c)) {
      current += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

size_t longest_common_subsequence(const std::vector<std::string>& a,
                                  const std::vector<std::string>& b) {
  // row[j] = LCS of a[0..i) and b[0..j), one row of the dynamic-programming table at a time.
  std::vector<size_t> row(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = 0;  // the previous row's row[j - 1]
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = a[i - 1] == b[j - 1] ? diagonal + 1 : std::max(above, row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.size()];
}

RougeL rouge_l(const std::string& candidate, const std::string& reference) {
  const auto candidate_tokens = rouge_tokens(candidate);
  const auto reference_tokens = rouge_tokens(reference);
  RougeL score;
  if (candidate_tokens.empty() || reference_tokens.empty()) return score;
  const double lcs =
      static_cast<double>(longest_common_subsequence(candidate_tokens, reference_tokens));
  score.precision = lcs / static_cast<double>(candidate_tokens.size());
  score.recall = lcs / static_cast<double>(reference_tokens.size());
  if (lcs > 0) score.f1 = 2 * score.precision * score.recall / (score.precision + score.recall);
  return score;
}

bool copies_question(const std::string& answer, const std::string& question,
                     double precision_threshold) {
  const auto answer_tokens = rouge_tokens(answer);
  if (answer_tokens.empty()) return false;
  const auto question_tokens = rouge_tokens(question);
  if (contains_run(question_tokens, answer_tokens)) return true;
  const double lcs =
      static_cast<double>(longest_common_subsequence(answer_tokens, question_tokens));
  return lcs / static_cast<double>(answer_tokens.size()) > precision_threshold;
}

}  // namespace empo::reward
