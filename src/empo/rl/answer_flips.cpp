#include "empo/rl/answer_flips.h"

namespace empo::rl {

std::string majority_answer(const GroupScore& score) {
  std::string best;  // "" until the first of the cluster's (non-empty) answers
  for (size_t i = 0; i < score.answers.size(); ++i)
    if (score.clustering.cluster_ids[i] == score.majority_cluster && !score.answers[i].empty() &&
        (best.empty() || score.answers[i] < best))
      best = score.answers[i];
  return best;
}

FlipCount AnswerFlips::observe(const std::vector<Group>& groups,
                               const AnswerEquivalence& equivalence) {
  FlipCount count;
  for (const auto& group : groups) {
    const auto& question = group.question;
    const std::string key = question.id.empty() ? question.text : question.id;
    std::string answer = majority_answer(group.score);
    auto seen = last_.find(key);
    if (seen != last_.end()) {
      count.revisited += 1;
      const std::string& before = seen->second;
      const bool same = before.empty() || answer.empty()
                            ? before.empty() == answer.empty()
                            : equivalence.matches(question.text, answer, before);
      count.flipped += same ? 0 : 1;
    }
    last_[key] = std::move(answer);
  }
  return count;
}

io::Json AnswerFlips::to_json() const {
  io::Json json = io::Json::object();
  for (const auto& [key, answer] : last_) json[key] = answer;
  return json;
}

AnswerFlips AnswerFlips::from_json(const io::Json& json) {
  AnswerFlips flips;
  for (const auto& [key, answer] : json.items()) flips.last_[key] = answer.get<std::string>();
  return flips;
}

}  // namespace empo::rl
