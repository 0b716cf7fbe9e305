#pragma once
// ROUGE-L (Lin, 2004) over word tokens: the longest common subsequence of two token lists,
// as precision (LCS / candidate length), recall (LCS / reference length) and their F1. The
// free-form rewards use its precision to find answers that copy the question.
//
// Tokens are the maximal runs of letters and digits after ASCII lower-casing, as in the
// rouge-score package's default tokenizer, except that bytes of non-ASCII UTF-8 characters
// count as letters (rouge-score drops them, which would make every Chinese answer empty).
#include <string>
#include <vector>

namespace empo::reward {

std::vector<std::string> rouge_tokens(const std::string& text);

// Length of the longest common subsequence; O(|a| |b|) time, O(|b|) memory.
size_t longest_common_subsequence(const std::vector<std::string>& a,
                                  const std::vector<std::string>& b);

struct RougeL {
  double precision = 0;  // LCS / |candidate tokens|; 0 when the candidate has no token
  double recall = 0;     // LCS / |reference tokens|; 0 when the reference has no token
  double f1 = 0;
};

RougeL rouge_l(const std::string& candidate, const std::string& reference);

// Whether `answer` copies `question` (the authors' free-form rule): its tokens are a
// contiguous run of the question's (a substring at word boundaries, so "no" is not found in
// "not"), or ROUGE-L precision against the question > precision_threshold. An answer without
// any token copies nothing.
bool copies_question(const std::string& answer, const std::string& question,
                     double precision_threshold);

}  // namespace empo::reward
