#pragma once
// How flat tensor elements travel in collectives: runs of consecutive elements packed into
// buckets of bounded size, so a collective needs one staging buffer of the bucket's size instead
// of a copy of every gradient at once (DDP's gradient buckets; DeepSpeed's reduce buckets).
//
// The plan depends only on the spans it is given (sizes and keys), never on a rank's data, so
// every rank derives the same sequence of collectives. Torch-free: plain data, tested alone.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace empo::dist {

// Elements [offset, offset + length) of tensor `tensor` (an index into the caller's list).
// Spans with different keys never share a bucket (ZeRO: the rank that owns them, and their
// dtype).
struct Span {
  std::size_t tensor = 0;
  int64_t offset = 0;
  int64_t length = 0;
  int64_t key = 0;
};

// Consecutive pieces of spans, `elements` in all (at most the capacity), that travel together.
struct Bucket {
  std::vector<Span> pieces;
  int64_t elements = 0;
  int64_t key = 0;
};

// Elements per bucket by default: 32 MiB of float32 (DDP's default bucket is 25 MB).
inline constexpr int64_t kBucketElements = int64_t{1} << 23;

// The spans in order, cut where longer than `capacity`, packed greedily into buckets of at
// most `capacity` elements; a new bucket starts when the key changes. Empty spans are dropped.
std::vector<Bucket> plan_buckets(const std::vector<Span>& spans, int64_t capacity);

}  // namespace empo::dist
