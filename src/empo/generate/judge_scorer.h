#pragma once
// A judge model's yes/no decisions for many prompts at once: the prompts are left-padded into
// batches of up to `batch_size` rows, and each batch is one forward pass with no generation;
// log P(Yes) / log P(No) of each row's next token are read at its last position ("Yes" and
// " Yes" spellings pooled). Prompts of one question share their prefix (the template's start
// and the question). yes_no_scorer (policy.h) is the same for one prompt.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "empo/generate/policy.h"
#include "empo/reward/judge_clustering.h"

namespace empo::generate {

using YesNoPairs = std::vector<std::pair<double, double>>;  // (log P(Yes), log P(No)) per prompt

// chat_turn: each prompt is sent as a chat user turn; otherwise verbatim as raw text.
// InputError when the judge's tokenizer cannot spell Yes/No.
std::function<YesNoPairs(const std::vector<std::string>& prompts)> yes_no_batch_scorer(
    const Policy& judge, bool chat_turn = true, int64_t batch_size = 32);

// The same as the scorer reward::judge_pairs and reward::cluster_many_with_judge take.
reward::YesNoBatchScorer judge_batch_scorer(const Policy& judge, bool chat_turn = true,
                                            int64_t batch_size = 32);

}  // namespace empo::generate
