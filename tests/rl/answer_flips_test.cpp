#include "empo/rl/answer_flips.h"

#include <gtest/gtest.h>

namespace empo::rl {
namespace {

// A group of question `id` whose samples answer `boxed` (each "\boxed{x}", or "" for none).
Group group_of(const std::string& id, const std::vector<std::string>& boxed,
               const AnswerEquivalence& equivalence) {
  Group group;
  group.question.id = id;
  group.question.text = "question " + id;
  std::vector<std::string> completions;
  for (const auto& answer : boxed)
    completions.push_back(answer.empty() ? "no answer" : "so \\boxed{" + answer + "}");
  group.score = score_group(RewardSettings{}, group.question, completions, {}, equivalence);
  return group;
}

TEST(AnswerFlips, MajorityAnswerIsTheSmallestOfTheLargestCluster) {
  const auto equivalence = math_equivalence();
  EXPECT_EQ(majority_answer(group_of("a", {"0.5", "1/2", "3", ""}, equivalence).score), "0.5");
  EXPECT_EQ(majority_answer(group_of("a", {"", "", "", ""}, equivalence).score), "");
}

TEST(AnswerFlips, CountsChangedMajoritiesOfRevisitedQuestions) {
  const auto equivalence = math_equivalence();
  AnswerFlips flips;
  auto first = flips.observe({group_of("q1", {"1/2", "1/2", "2", "3"}, equivalence),
                              group_of("q2", {"3", "3", "3", "1"}, equivalence)},
                             equivalence);
  EXPECT_EQ(first.revisited, 0);
  EXPECT_EQ(first.flipped, 0);
  // q1: 0.5 is 1/2 (no flip); q2: 4 instead of 3 (a flip); q3 is new.
  auto second = flips.observe({group_of("q1", {"0.5", "0.5", "0.5", "2"}, equivalence),
                               group_of("q2", {"4", "4", "3", "1"}, equivalence),
                               group_of("q3", {"7", "7", "7", "7"}, equivalence)},
                              equivalence);
  EXPECT_EQ(second.revisited, 2);
  EXPECT_EQ(second.flipped, 1);
  // Saved and restored, the record goes on: q2 now has no answer at all (a flip), q3 keeps 7.
  auto restored = AnswerFlips::from_json(io::Json::parse(flips.to_json().dump()));
  auto third = restored.observe({group_of("q2", {"", "", "", ""}, equivalence),
                                 group_of("q3", {"7", "7", "1", "2"}, equivalence)},
                                equivalence);
  EXPECT_EQ(third.revisited, 2);
  EXPECT_EQ(third.flipped, 1);
  EXPECT_EQ(restored.to_json()["q2"], "");
}

}  // namespace
}  // namespace empo::rl
