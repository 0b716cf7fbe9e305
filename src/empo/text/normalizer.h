#pragma once
// Unicode normalizers of tokenizer.json ("normalizer": NFC, NFD, NFKC, NFKD or a Sequence of
// them), through utf8proc.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace empo::text {

enum class NormalForm { nfc, nfd, nfkc, nfkd };

class Normalizer {
 public:
  Normalizer() = default;  // the identity (tokenizer.json "normalizer": null)
  // Throws std::invalid_argument naming an unsupported normalizer type.
  static Normalizer from_json(const nlohmann::json& node);
  static Normalizer of(std::vector<NormalForm> forms);

  bool is_identity() const { return forms_.empty(); }
  // Input must be valid UTF-8. Returns a view of `text` when nothing changes (the usual case),
  // else a view of `storage`.
  std::string_view normalize(std::string_view text, std::string& storage) const;

 private:
  std::vector<NormalForm> forms_;
};

// Applies one normal form with utf8proc to the whole text (the reference path; normalize()
// skips the parts that are already normalized).
std::string normalize_whole(std::string_view text, NormalForm form);

}  // namespace empo::text
