#include "empo/reward/judge_clustering.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "empo/reward/answer.h"

namespace empo::reward {

namespace {

// Judge builds the prompts (and checks the template); its own scorer is never called.
Judge prompt_builder(const JudgeConfig& config) {
  return Judge(
      [](const std::string&) -> YesNoLogProbs {
        throw std::logic_error("judge_clustering: the per-prompt scorer is not used");
      },
      config);
}

// One question's clustering in progress: the rounds of cluster_with_judge as a state machine,
// so that the rounds of many questions can share one scorer call.
struct QuestionRounds {
  std::vector<std::string> distinct;         // sorted, trimmed, non-empty
  std::map<std::string, size_t> founder_of;  // distinct answer -> its cluster's founder
  std::vector<size_t> unclustered;           // indices into distinct, ascending
  long decided = 0, bound_exceeded = 0;
  // The round in flight: its founder and the answers compared with it.
  size_t founder = 0;
  std::vector<size_t> candidates, left_out;

  QuestionRounds(const std::vector<std::string>& answers, const JudgeConfig& config) {
    for (const auto& answer : answers) {
      std::string text = trim(answer);
      if (!text.empty()) distinct.push_back(std::move(text));
    }
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (size_t i = 0; i < distinct.size(); ++i) {
      if (distinct[i].size() > config.max_answer_bytes) {
        ++bound_exceeded;
        founder_of[distinct[i]] = i;  // never sent: a cluster of its own
      } else {
        unclustered.push_back(i);
      }
    }
  }

  bool done() const { return unclustered.empty(); }

  // The smallest answer left founds a cluster; the others within the budget are its
  // candidates (the rest are "not equivalent" without a call).
  void start_round(const JudgeConfig& config) {
    founder = unclustered.front();
    founder_of[distinct[founder]] = founder;
    candidates.assign(unclustered.begin() + 1, unclustered.end());
    const long budget = config.max_comparisons_per_question - decided;
    if (static_cast<long>(candidates.size()) > budget) {
      bound_exceeded += static_cast<long>(candidates.size()) - std::max(0L, budget);
      candidates.resize(static_cast<size_t>(std::max(0L, budget)));
    }
    left_out.assign(unclustered.begin() + 1 + static_cast<long>(candidates.size()),
                    unclustered.end());
    decided += static_cast<long>(candidates.size());
  }

  // accepted[k] belongs to candidates[k].
  void finish_round(const std::vector<bool>& accepted) {
    for (size_t k = 0; k < candidates.size(); ++k) {
      if (accepted[k]) {
        founder_of[distinct[candidates[k]]] = founder;
      } else {
        left_out.push_back(candidates[k]);
      }
    }
    std::sort(left_out.begin(), left_out.end());
    unclustered = std::move(left_out);
    left_out.clear();
  }

  Clustering result(const std::vector<std::string>& answers) const {
    // The partition is decided; cluster_with numbers it and computes the entropy.
    Clustering clustering = cluster_with(answers, [&](const std::string& a, const std::string& b) {
      return founder_of.at(a) == founder_of.at(b);
    });
    clustering.comparisons = decided;
    clustering.bound_exceeded = bound_exceeded;
    return clustering;
  }
};

}  // namespace

std::vector<bool> judge_pairs(const std::vector<JudgePair>& pairs, const YesNoBatchScorer& scorer,
                              const JudgeConfig& config, JudgeClusteringStats* stats,
                              long* bound_exceeded) {
  const Judge prompts_of = prompt_builder(config);
  const bool both_ways = config.mode == JudgeMode::bidirectional;
  std::vector<bool> accepted(pairs.size(), false);
  std::vector<size_t> asked;  // pairs the model decides, in prompt order
  std::vector<std::string> batch;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::string reference = trim(pairs[i].reference), candidate = trim(pairs[i].candidate);
    if (reference.empty() || candidate.empty()) continue;
    if (reference == candidate) {
      accepted[i] = true;
      continue;
    }
    if (reference.size() > config.max_answer_bytes || candidate.size() > config.max_answer_bytes) {
      if (bound_exceeded) ++*bound_exceeded;
      continue;
    }
    asked.push_back(i);
    batch.push_back(prompts_of.prompt(pairs[i].question, reference, candidate));
    if (both_ways) batch.push_back(prompts_of.prompt(pairs[i].question, candidate, reference));
  }
  if (batch.empty()) return accepted;
  const auto scores = scorer(batch);
  if (scores.size() != batch.size())
    throw std::logic_error("judge_pairs: the scorer returned the wrong number of scores");
  if (stats) {
    ++stats->batches;
    stats->prompts += static_cast<long>(batch.size());
  }
  const size_t per_pair = both_ways ? 2 : 1;
  for (size_t k = 0; k < asked.size(); ++k) {
    bool yes = true;
    for (size_t d = 0; d < per_pair; ++d) {
      const auto& s = scores[k * per_pair + d];
      yes = yes && std::isfinite(s.yes) && s.yes > s.no;  // NaN never accepts
    }
    accepted[asked[k]] = yes;
  }
  return accepted;
}

std::vector<Clustering> cluster_many_with_judge(const std::vector<JudgeClusteringInput>& inputs,
                                                const YesNoBatchScorer& scorer,
                                                const JudgeConfig& config,
                                                JudgeClusteringStats* stats) {
  prompt_builder(config);  // InputError for a bad template even when nothing is compared
  std::vector<QuestionRounds> questions;
  questions.reserve(inputs.size());
  for (const auto& input : inputs) questions.emplace_back(input.answers, config);
  for (;;) {
    // One round of every question that still has unclustered answers: one scorer call.
    std::vector<size_t> active;
    std::vector<JudgePair> pairs;
    for (size_t q = 0; q < questions.size(); ++q) {
      auto& state = questions[q];
      if (state.done()) continue;
      active.push_back(q);
      state.start_round(config);
      for (size_t candidate : state.candidates)
        pairs.push_back(
            {inputs[q].question, state.distinct[state.founder], state.distinct[candidate]});
    }
    if (active.empty()) break;
    const auto accepted = judge_pairs(pairs, scorer, config, stats);
    size_t next = 0;
    for (size_t q : active) {
      auto& state = questions[q];
      std::vector<bool> own(accepted.begin() + static_cast<long>(next),
                            accepted.begin() + static_cast<long>(next + state.candidates.size()));
      next += state.candidates.size();
      state.finish_round(own);
    }
  }
  std::vector<Clustering> results;
  results.reserve(inputs.size());
  for (size_t q = 0; q < questions.size(); ++q)
    results.push_back(questions[q].result(inputs[q].answers));
  return results;
}

Clustering cluster_with_judge(const std::string& question, const std::vector<std::string>& answers,
                              const YesNoBatchScorer& scorer, const JudgeConfig& config,
                              JudgeClusteringStats* stats) {
  return cluster_many_with_judge({{question, answers}}, scorer, config, stats).front();
}

}  // namespace empo::reward
