#pragma once
// A label-free drift signal: how often a question's majority answer changed since the question
// was last drawn (empo/flip_rate). A policy that is learning settles its answers; one drifting
// towards a collapse keeps moving them, many questions at once. Answers are compared with the
// run's equivalence, so "1/2" after "0.5" is no flip.
#include <map>
#include <string>
#include <vector>

#include "empo/io/jsonl.h"
#include "empo/rl/rewards.h"
#include "empo/rl/rollout.h"

namespace empo::rl {

struct FlipCount {
  double flipped = 0;    // revisited questions whose majority answer changed
  double revisited = 0;  // questions seen before
};

class AnswerFlips {
 public:
  // Compares each group's majority answer with the one recorded when its question was last
  // seen, then records it. A group without answers has the majority answer "" (none): from an
  // answer to none, or back, is a flip.
  FlipCount observe(const std::vector<Group>& groups, const AnswerEquivalence& equivalence);

  // The recorded answers, saved with a checkpoint so a resumed run counts as an unbroken one.
  io::Json to_json() const;
  static AnswerFlips from_json(const io::Json& json);  // throws io::Json::exception

 private:
  std::map<std::string, std::string> last_;  // question id (or text) -> its majority answer
};

// A group's majority answer: the smallest answer string of its majority cluster ("" none).
std::string majority_answer(const GroupScore& score);

}  // namespace empo::rl
