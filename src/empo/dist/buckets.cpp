#include "empo/dist/buckets.h"

#include <algorithm>
#include <stdexcept>

namespace empo::dist {

std::vector<Bucket> plan_buckets(const std::vector<Span>& spans, int64_t capacity) {
  if (capacity <= 0) throw std::logic_error("plan_buckets: capacity must be positive");
  std::vector<Bucket> buckets;
  for (const Span& span : spans) {
    for (int64_t done = 0; done < span.length;) {
      const bool fits =
          !buckets.empty() && buckets.back().key == span.key && buckets.back().elements < capacity;
      if (!fits) buckets.push_back({{}, 0, span.key});
      Bucket& bucket = buckets.back();
      const int64_t length = std::min(span.length - done, capacity - bucket.elements);
      bucket.pieces.push_back({span.tensor, span.offset + done, length, span.key});
      bucket.elements += length;
      done += length;
    }
  }
  return buckets;
}

}  // namespace empo::dist
