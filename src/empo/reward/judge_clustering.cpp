#include "empo/reward/judge_clustering.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "empo/reward/answer.h"

namespace empo::reward {

Clustering cluster_with_judge(const std::string& question, const std::vector<std::string>& answers,
                              const YesNoBatchScorer& scorer, const JudgeConfig& config,
                              JudgeClusteringStats* stats) {
  // Judge builds the prompts (and checks the template); its own scorer is never called.
  const Judge prompts_of(
      [](const std::string&) -> YesNoLogProbs {
        throw std::logic_error("cluster_with_judge: the per-prompt scorer is not used");
      },
      config);
  std::vector<std::string> distinct;
  for (const auto& answer : answers) {
    std::string text = trim(answer);
    if (!text.empty()) distinct.push_back(std::move(text));
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());

  long bound_exceeded = 0, decided = 0;
  std::map<std::string, size_t> founder_of;  // distinct answer -> index of its cluster's founder
  std::vector<size_t> unclustered;
  for (size_t i = 0; i < distinct.size(); ++i) {
    if (distinct[i].size() > config.max_answer_bytes) {
      ++bound_exceeded;
      founder_of[distinct[i]] = i;  // never sent: a cluster of its own
    } else {
      unclustered.push_back(i);
    }
  }
  const bool both_ways = config.mode == JudgeMode::bidirectional;
  while (!unclustered.empty()) {
    const size_t founder = unclustered.front();  // the smallest answer left
    founder_of[distinct[founder]] = founder;
    std::vector<size_t> candidates(unclustered.begin() + 1, unclustered.end());
    // The budget of model-decided pairs: the rest are "not equivalent" without a call.
    const long budget = config.max_comparisons_per_question - decided;
    if (static_cast<long>(candidates.size()) > budget) {
      bound_exceeded += static_cast<long>(candidates.size()) - std::max(0L, budget);
      candidates.resize(static_cast<size_t>(std::max(0L, budget)));
    }
    std::vector<size_t> still_unclustered(unclustered.begin() + 1 + candidates.size(),
                                          unclustered.end());
    if (!candidates.empty()) {
      std::vector<std::string> batch;
      for (size_t candidate : candidates) {
        batch.push_back(prompts_of.prompt(question, distinct[founder], distinct[candidate]));
        if (both_ways)
          batch.push_back(prompts_of.prompt(question, distinct[candidate], distinct[founder]));
      }
      const auto scores = scorer(batch);
      if (scores.size() != batch.size())
        throw std::logic_error(
            "cluster_with_judge: the scorer returned the wrong number of scores");
      if (stats) {
        ++stats->batches;
        stats->prompts += static_cast<long>(batch.size());
      }
      decided += static_cast<long>(candidates.size());
      const size_t per_pair = both_ways ? 2 : 1;
      for (size_t k = 0; k < candidates.size(); ++k) {
        bool accepted = true;
        for (size_t d = 0; d < per_pair; ++d) {
          const auto& s = scores[k * per_pair + d];
          accepted = accepted && std::isfinite(s.yes) && s.yes > s.no;  // NaN never joins
        }
        if (accepted) {
          founder_of[distinct[candidates[k]]] = founder;
        } else {
          still_unclustered.push_back(candidates[k]);
        }
      }
    }
    std::sort(still_unclustered.begin(), still_unclustered.end());
    unclustered = std::move(still_unclustered);
  }
  // The partition is decided; cluster_with numbers it and computes the entropy.
  Clustering result = cluster_with(answers, [&](const std::string& a, const std::string& b) {
    return founder_of.at(a) == founder_of.at(b);
  });
  result.comparisons = decided;
  result.bound_exceeded = bound_exceeded;
  return result;
}

}  // namespace empo::reward
