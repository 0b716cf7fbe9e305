#include "empo/reward/cluster.h"
#include "empo/reward/answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>

namespace empo::reward {

namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t size) : parent_(size) { std::iota(parent_.begin(), parent_.end(), 0); }
  size_t find(size_t x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  // The smaller root wins, so the result does not depend on the order of calls.
  void join(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a < b) std::swap(a, b);
    parent_[a] = b;
  }

 private:
  std::vector<size_t> parent_;
};

// Shared second half: `node_of[i]` is answer i's node (sorted, distinct keys) or -1 for an
// answer that joins nothing; `same(x, y)` decides nodes x < y.
template <typename Same>
Clustering close_over(const std::vector<int>& node_of, size_t nodes, Same same, Clustering result) {
  UnionFind groups(nodes);
  for (size_t x = 0; x < nodes; ++x) {
    for (size_t y = x + 1; y < nodes; ++y) {
      if (groups.find(x) == groups.find(y)) continue;
      ++result.comparisons;
      if (same(x, y)) groups.join(x, y);
    }
  }
  std::map<size_t, int> id_of_root;
  result.cluster_ids.clear();
  for (int node : node_of) {
    int id;
    if (node < 0) {
      id = static_cast<int>(result.cluster_sizes.size());
      result.cluster_sizes.push_back(0);
    } else {
      size_t root = groups.find(static_cast<size_t>(node));
      auto found = id_of_root.find(root);
      if (found == id_of_root.end()) {
        found = id_of_root.emplace(root, static_cast<int>(result.cluster_sizes.size())).first;
        result.cluster_sizes.push_back(0);
      }
      id = found->second;
    }
    ++result.cluster_sizes[id];
    result.cluster_ids.push_back(id);
  }
  double total = static_cast<double>(node_of.size());
  for (int size : result.cluster_sizes) result.probabilities.push_back(size / total);
  result.entropy = semantic_entropy(result.cluster_sizes);
  return result;
}

}  // namespace

double semantic_entropy(const std::vector<int>& cluster_sizes) {
  double total = 0;
  for (int size : cluster_sizes) total += size;
  if (total <= 0) return 0;
  double entropy = 0;
  for (int size : cluster_sizes) {
    if (size <= 0) continue;
    double p = size / total;
    entropy -= p * std::log(p);
  }
  return entropy;
}

Clustering cluster(const std::vector<std::string>& answers, const EquivalenceConfig& config) {
  Clustering result;
  // Parse each distinct answer once.
  std::map<std::string, MathValue> parsed;
  for (const std::string& answer : answers) {
    std::string text = trim(answer);
    if (parsed.count(text)) continue;
    MathValue value = parse_answer(text, config.limits);
    if (value.kind == ValueKind::invalid) ++result.bound_exceeded;
    parsed.emplace(text, std::move(value));
  }
  // Group by canonical key; the sorted distinct keys are the nodes.
  std::map<std::string, const MathValue*> by_key;
  std::vector<std::string> keys(answers.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    const MathValue& value = parsed.at(trim(answers[i]));
    keys[i] = canonical_key(value);
    if (!keys[i].empty()) by_key.emplace(keys[i], &value);
  }
  std::vector<const MathValue*> nodes;
  std::map<std::string, int> node_index;
  for (const auto& [key, value] : by_key) {
    node_index[key] = static_cast<int>(nodes.size());
    nodes.push_back(value);
  }
  std::vector<int> node_of(answers.size(), -1);
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!keys[i].empty()) node_of[i] = node_index.at(keys[i]);
  }
  long bound_exceeded = 0;
  auto same = [&](size_t x, size_t y) {
    Verdict verdict = compare(*nodes[x], *nodes[y], config);
    if (verdict == Verdict::bound_exceeded) ++bound_exceeded;
    return verdict == Verdict::equivalent;
  };
  result = close_over(node_of, nodes.size(), same, std::move(result));
  result.bound_exceeded += bound_exceeded;
  return result;
}

Clustering cluster_with(const std::vector<std::string>& answers,
                        const EquivalencePredicate& equivalent) {
  std::vector<std::string> texts;
  for (const std::string& answer : answers) texts.push_back(trim(answer));
  std::vector<std::string> distinct;
  for (const std::string& text : texts) {
    if (!text.empty()) distinct.push_back(text);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int> node_of(texts.size(), -1);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) continue;
    node_of[i] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), texts[i]) -
                                  distinct.begin());
  }
  auto same = [&](size_t x, size_t y) { return equivalent(distinct[x], distinct[y]); };
  return close_over(node_of, distinct.size(), same, Clustering{});
}

}  // namespace empo::reward
