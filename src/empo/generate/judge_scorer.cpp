#include "empo/generate/judge_scorer.h"

#include <algorithm>

#include "empo/io/error.h"
#include "empo/model/transformer.h"

namespace empo::generate {
namespace {

// Ids of the first token of each spelling that the tokenizer knows.
std::vector<int64_t> first_token_ids(const text::Tokenizer& tokenizer,
                                     const std::vector<std::string>& spellings) {
  std::vector<int64_t> ids;
  for (const auto& spelling : spellings) {
    auto encoded = tokenizer.encode(spelling);
    if (!encoded.empty() &&
        std::find(ids.begin(), ids.end(), static_cast<int64_t>(encoded[0])) == ids.end())
      ids.push_back(encoded[0]);
  }
  return ids;
}

}  // namespace

std::function<YesNoPairs(const std::vector<std::string>& prompts)> yes_no_batch_scorer(
    const Policy& judge, bool chat_turn, int64_t batch_size) {
  auto yes = first_token_ids(judge.tokenizer, {"Yes", " Yes"});
  auto no = first_token_ids(judge.tokenizer, {"No", " No"});
  if (yes.empty() || no.empty())
    throw InputError(judge.folder + ": the judge's tokenizer cannot spell Yes/No");
  PromptSettings settings;
  if (!chat_turn) settings.format = text::ChatFormat::raw;
  const auto yes_ids = at::tensor(yes, at::kLong), no_ids = at::tensor(no, at::kLong);
  return [&judge, settings, yes_ids, no_ids, batch_size](const std::vector<std::string>& prompts) {
    at::NoGradGuard no_grad;
    YesNoPairs result;
    const auto device = judge.model.weights.embed_tokens.device();
    for (size_t start = 0; start < prompts.size(); start += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(prompts.size(), start + static_cast<size_t>(batch_size));
      std::vector<std::vector<int64_t>> rows;
      size_t longest = 0;
      for (size_t i = start; i < end; ++i) {
        rows.push_back(
            build_prompt(judge, settings, std::vector<text::Message>{{"user", prompts[i]}}));
        longest = std::max(longest, rows.back().size());
      }
      const auto B = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(longest);
      // Left padding: every row's last token sits at column T - 1.
      auto input = at::zeros({B, T}, at::kLong);  // (B, T)
      auto mask = at::zeros({B, T}, at::kLong);   // (B, T)
      for (int64_t b = 0; b < B; ++b) {
        const auto& row = rows[static_cast<size_t>(b)];
        const int64_t offset = T - static_cast<int64_t>(row.size());
        input[b]
            .narrow(0, offset, static_cast<int64_t>(row.size()))
            .copy_(at::tensor(row, at::kLong));
        mask[b].narrow(0, offset, static_cast<int64_t>(row.size())).fill_(1);
      }
      auto hidden = model::forward_hidden(
          judge.model, model::make_batch(input.to(device), mask.to(device)));          // (B, T, C)
      auto logits = at::linear(hidden.select(1, T - 1), judge.model.weights.lm_head);  // (B, V)
      auto log_p = at::log_softmax(logits.to(at::kFloat), -1).to(at::kCPU);            // (B, V)
      auto pooled_yes = at::logsumexp(log_p.index_select(1, yes_ids), 1);              // (B)
      auto pooled_no = at::logsumexp(log_p.index_select(1, no_ids), 1);                // (B)
      for (int64_t b = 0; b < B; ++b)
        result.emplace_back(pooled_yes[b].item<double>(), pooled_no[b].item<double>());
    }
    return result;
  };
}

reward::YesNoBatchScorer judge_batch_scorer(const Policy& judge, bool chat_turn,
                                            int64_t batch_size) {
  auto scorer = yes_no_batch_scorer(judge, chat_turn, batch_size);
  return [scorer](const std::vector<std::string>& prompts) {
    std::vector<reward::YesNoLogProbs> scores;
    for (const auto& [yes, no] : scorer(prompts)) scores.push_back({yes, no});
    return scores;
  };
}

}  // namespace empo::generate
