#include "empo/text/bpe.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <random>

namespace empo::text {
namespace {

// The textbook definition: repeatedly merge the lowest-ranked adjacent pair, leftmost first.
std::vector<TokenId> reference_merge(
    const std::map<std::pair<TokenId, TokenId>, std::pair<int, TokenId>>& merges,
    std::vector<TokenId> symbols) {
  while (symbols.size() > 1) {
    int best_rank = std::numeric_limits<int>::max();
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto found = merges.find({symbols[i], symbols[i + 1]});
      if (found != merges.end() && found->second.first < best_rank) {
        best_rank = found->second.first;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int>::max()) break;
    symbols[best] = merges.at({symbols[best], symbols[best + 1]}).second;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  return symbols;
}

TEST(MergeTable, FindsAddedPairsAndKeepsTheLaterDuplicate) {
  MergeTable table;
  table.add(1, 2, 0, 10);
  table.add(3, 4, 1, 11);
  table.add(1, 2, 5, 12);
  ASSERT_NE(table.find(1, 2), nullptr);
  EXPECT_EQ(table.find(1, 2)->rank, 5);
  EXPECT_EQ(table.find(1, 2)->merged, 12);
  EXPECT_EQ(table.find(3, 4)->merged, 11);
  EXPECT_EQ(table.find(2, 1), nullptr);
  EXPECT_EQ(table.size(), 2u);
  MergeTable empty;
  EXPECT_EQ(empty.find(1, 2), nullptr);
}

TEST(MergeTable, SurvivesGrowthWithManyPairs) {
  MergeTable table;
  for (int i = 0; i < 50000; ++i) table.add(i, i + 1, i, 100000 + i);
  for (int i = 0; i < 50000; i += 997) {
    ASSERT_NE(table.find(i, i + 1), nullptr);
    EXPECT_EQ(table.find(i, i + 1)->merged, 100000 + i);
  }
  EXPECT_EQ(table.find(50000, 50001), nullptr);
}

TEST(BpeMerge, LowestRankFirstLeftmostOnTies) {
  // a=0 b=1 c=2; ab=3 (rank 1), bc=4 (rank 0), abc via a+bc=5 (rank 2).
  MergeTable table;
  table.add(0, 1, 1, 3);
  table.add(1, 2, 0, 4);
  table.add(0, 4, 2, 5);
  std::vector<TokenId> symbols = {0, 1, 2};
  bpe_merge(table, symbols);
  EXPECT_EQ(symbols, (std::vector<TokenId>{5}));
  // "aaa" with a+a=6: the left pair merges first, leaving "aa a".
  table.add(0, 0, 3, 6);
  symbols = {0, 0, 0};
  bpe_merge(table, symbols);
  EXPECT_EQ(symbols, (std::vector<TokenId>{6, 0}));
}

TEST(BpeMerge, LinearAndHeapPathsAgreeWithTheReference) {
  std::mt19937 random(11);
  for (int table_trial = 0; table_trial < 20; ++table_trial) {
    // Random merges over a 4-symbol alphabet; merged ids are fresh.
    std::map<std::pair<TokenId, TokenId>, std::pair<int, TokenId>> reference;
    MergeTable table;
    TokenId next_id = 4;
    std::vector<TokenId> known = {0, 1, 2, 3};
    for (int rank = 0; rank < 40; ++rank) {
      TokenId left = known[random() % known.size()];
      TokenId right = known[random() % known.size()];
      if (reference.count({left, right})) continue;
      reference[{left, right}] = {rank, next_id};
      table.add(left, right, rank, next_id);
      known.push_back(next_id++);
    }
    for (int word_trial = 0; word_trial < 100; ++word_trial) {
      std::vector<TokenId> word(1 + random() % 300);
      for (TokenId& symbol : word) symbol = static_cast<TokenId>(random() % 4);
      std::vector<TokenId> expected = reference_merge(reference, word);
      std::vector<TokenId> linear = word;
      std::vector<TokenId> heap = word;
      bpe_merge(table, linear, 128);
      bpe_merge(table, heap, 0);
      if (word.size() <= 128) {
        EXPECT_EQ(linear, expected);
      }
      EXPECT_EQ(heap, expected);
    }
  }
}

TEST(WordCache, FindsInsertedWordsAndEmptiesWhenFull) {
  WordCache cache(4, 1 << 10);
  TokenId ids[] = {7, 8, 9};
  cache.insert("hello", WordCache::hash("hello"), ids, 3);
  const TokenId* found = nullptr;
  std::size_t count = 0;
  ASSERT_TRUE(cache.find("hello", WordCache::hash("hello"), found, count));
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(found[2], 9);
  EXPECT_FALSE(cache.find("hellp", WordCache::hash("hellp"), found, count));
  for (const char* word : {"a1", "a2", "a3"}) cache.insert(word, WordCache::hash(word), ids, 1);
  EXPECT_EQ(cache.size(), 4u);
  cache.insert("a4", WordCache::hash("a4"), ids, 2);  // over the bound: starts afresh
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.find("hello", WordCache::hash("hello"), found, count));
  ASSERT_TRUE(cache.find("a4", WordCache::hash("a4"), found, count));
  EXPECT_EQ(count, 2u);
}

TEST(WordCache, HashDependsOnEveryByte) {
  EXPECT_NE(WordCache::hash("abcdefgh1"), WordCache::hash("abcdefgh2"));
  EXPECT_NE(WordCache::hash("a"), WordCache::hash(std::string_view("a\0", 2)));
  EXPECT_EQ(WordCache::hash("same") & 1u, 1u);
}

}  // namespace
}  // namespace empo::text
