#include <gtest/gtest.h>

#include "empo/reward/latex.h"

namespace empo::reward {

TEST(CanonicalKey, EqualForIdenticalValuesOnly) {
  EXPECT_EQ(canonical_key(parse_answer("0.5")), canonical_key(parse_answer("\\frac12")));
  EXPECT_EQ(canonical_key(parse_answer("x+y")), canonical_key(parse_answer("y + x")));
  EXPECT_EQ(canonical_key(parse_answer("\\{1,2\\}")), canonical_key(parse_answer("2, 1")));
  EXPECT_NE(canonical_key(parse_answer("(1,2)")), canonical_key(parse_answer("(2,1)")));
  EXPECT_NE(canonical_key(parse_answer("(1,2)")), canonical_key(parse_answer("[1,2]")));
  EXPECT_NE(canonical_key(parse_answer("\\sqrt{8}")), canonical_key(parse_answer("3")));
  EXPECT_EQ(canonical_key(parse_answer("")), "");
}

TEST(CanonicalKey, EmptyForValuesThatJoinNothing) {
  EXPECT_EQ(canonical_key(parse_answer("10^{10^{10^{10}}}")), "");      // invalid
  EXPECT_EQ(canonical_key(parse_answer("\\{1, 10^{10^{10}}\\}")), "");  // an invalid item
  EXPECT_EQ(canonical_key(parse_answer("  ")), "");
  EXPECT_NE(canonical_key(parse_answer("\\text{Evelyn}")), canonical_key(parse_answer("evelyn x")));
  EXPECT_EQ(canonical_key(parse_answer("(C)")), "c:C");
}

TEST(Describe, NamesKindAndStructure) {
  EXPECT_EQ(describe(parse_answer("[1, 2)")), "tuple[expression 1, expression 2)");
  EXPECT_EQ(describe(parse_answer("x + y \\ge 1")).substr(0, 9), "relation ");
  EXPECT_EQ(describe(parse_answer("\\emptyset")), "set{}");
  EXPECT_EQ(describe(parse_answer("10^{10^{10^{10}}}")).substr(0, 7), "invalid");
  EXPECT_EQ(describe(parse_answer("")), "empty");
  EXPECT_TRUE(is_math(parse_answer("x+1")));
  EXPECT_FALSE(is_math(parse_answer("(B)")));
  EXPECT_FALSE(is_math(parse_answer("\\text{none}")));
}

}  // namespace empo::reward
