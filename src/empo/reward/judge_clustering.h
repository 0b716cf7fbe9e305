#pragma once
// Batched clustering of free-form answers with an LLM judge. The authors' rule (each answer is
// compared with the first member of each existing cluster) made order-independent and
// batched: the distinct answers are sorted; the smallest one not yet in a cluster founds a
// cluster, and every other unclustered answer is compared with it in ONE call of the batch
// scorer (one forward pass per prompt, no generation); the accepted ones join and are never
// compared again (transitivity decides them). So a question costs one round per cluster, at
// most D - 1 prompts per direction for D distinct answers in the first round, and far fewer
// than the D (D - 1) of all pairs when answers agree. cluster_many_with_judge runs the rounds
// of many questions (a rollout batch) in lockstep: each round's prompts of EVERY question go
// into one scorer call, so a batch costs as many calls as its question with the most clusters
// has rounds (at most G), not one per question and cluster. A question's clusters do not depend
// on the other questions of its batch nor on their order.
//
// Bounded as Judge is (JudgeConfig): an answer longer than max_answer_bytes is never sent (it
// is a cluster of its own), and at most max_comparisons_per_question pairs are decided by the
// model; later pairs are "not equivalent" without a call. Both bounds are counted in
// Clustering::bound_exceeded; Clustering::comparisons counts model-decided pairs.
#include <functional>
#include <string>
#include <vector>

#include "empo/reward/cluster.h"
#include "empo/reward/judge.h"

namespace empo::reward {

// One forward pass per prompt, all prompts in one batch; result[i] belongs to prompts[i].
using YesNoBatchScorer =
    std::function<std::vector<YesNoLogProbs>(const std::vector<std::string>& prompts)>;

struct JudgeClusteringStats {
  long batches = 0;  // scorer calls
  long prompts = 0;  // prompts sent
};

// A pair of answers to one question for the judge: is `candidate` ({b}) equivalent to
// `reference` ({a})?
struct JudgePair {
  std::string question;
  std::string reference;
  std::string candidate;
};

// The judge's decision on every pair, in at most ONE scorer call holding every pair the model
// must decide (both directions of a pair with bidirectional; both must accept). The rules of
// Judge::accepts: answers are trimmed, an empty one never matches, identical ones match
// without a call, and one longer than max_answer_bytes is never sent and never matches
// (counted in *bound_exceeded when given). A NaN score never accepts. max_comparisons_per_
// question does not apply here: the caller chooses the pairs. InputError when config's
// template lacks a placeholder.
std::vector<bool> judge_pairs(const std::vector<JudgePair>& pairs, const YesNoBatchScorer& scorer,
                              const JudgeConfig& config, JudgeClusteringStats* stats = nullptr,
                              long* bound_exceeded = nullptr);

// With one_way the cluster's founder is the reference {a} and the candidate is {b}; with
// bidirectional both prompts go into the same batch and both must accept. Empty answers and
// identical strings follow cluster_with (empty joins nothing; equal strings join without a
// call). InputError when config's template lacks a placeholder.
Clustering cluster_with_judge(const std::string& question, const std::vector<std::string>& answers,
                              const YesNoBatchScorer& scorer, const JudgeConfig& config = {},
                              JudgeClusteringStats* stats = nullptr);

// One question's answers for cluster_many_with_judge.
struct JudgeClusteringInput {
  std::string question;
  std::vector<std::string> answers;
};

// result[i] is cluster_with_judge(inputs[i]) (the same partition, comparisons and bounds), with
// the rounds of all inputs sharing scorer calls: one call per round that has a comparison.
std::vector<Clustering> cluster_many_with_judge(const std::vector<JudgeClusteringInput>& inputs,
                                                const YesNoBatchScorer& scorer,
                                                const JudgeConfig& config = {},
                                                JudgeClusteringStats* stats = nullptr);

}  // namespace empo::reward
