#pragma once
// Semantic clusters of the G answers to one question, and their entropy.
//
// The partition does not depend on the order of the answers: answers are grouped by a
// canonical key first (identical parsed values), the distinct keys are sorted, and every
// pair of groups not yet joined is compared once (O(G^2) comparisons at worst, each parse
// done once); equivalent pairs are joined with union-find, so clusters are the transitive
// closure of pairwise equivalence. Cluster ids are numbered by first occurrence in the
// input. The empty answer, and an answer past a bound, is a cluster of its own.
#include <functional>
#include <string>
#include <vector>

#include "empo/reward/equivalence.h"

namespace empo::reward {

struct Clustering {
  std::vector<int> cluster_ids;       // per answer; 0, 1, ... by first occurrence
  std::vector<int> cluster_sizes;     // per cluster id
  std::vector<double> probabilities;  // p(c) = size / G
  double entropy = 0;                 // H = -sum_c p(c) log p(c), natural log
  long comparisons = 0;               // pairwise equivalence decisions made
  long bound_exceeded = 0;            // parses and comparisons stopped by a bound
};

// Math answers: parsed with config.limits, compared with compare().
Clustering cluster(const std::vector<std::string>& answers, const EquivalenceConfig& config = {});

// Any equivalence decision, e.g. an LLM judge (see judge.h). Answers are trimmed; equal
// strings join without a call; the empty answer joins nothing. `equivalent(a, b)` is called
// with a < b in byte order, once per pair of distinct answers not yet in one cluster.
using EquivalencePredicate = std::function<bool(const std::string& a, const std::string& b)>;
Clustering cluster_with(const std::vector<std::string>& answers,
                        const EquivalencePredicate& equivalent);

// H of a partition given by its cluster sizes (natural log); 0 for no answers.
double semantic_entropy(const std::vector<int>& cluster_sizes);

}  // namespace empo::reward
