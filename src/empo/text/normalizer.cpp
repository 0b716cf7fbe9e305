#include "empo/text/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <stdexcept>

#include "empo/text/utf8.h"

namespace empo::text {

namespace {

utf8proc_option_t options_of(NormalForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::nfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::nfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::nfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::nfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  return static_cast<utf8proc_option_t>(options);
}

void append_normalized(std::string_view text, NormalForm form, std::string& out) {
  if (text.empty()) return;
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &result, options_of(form));
  if (length < 0) {
    // Only reachable for invalid UTF-8, which callers rule out; keep the text unchanged.
    out.append(text);
    return;
  }
  out.append(reinterpret_cast<const char*>(result), static_cast<std::size_t>(length));
  std::free(result);
}

// Code points that are NFC_Quick_Check=Yes, canonical combining class 0 and never the second
// half of a canonical composition: NFC never changes them nor merges them with what precedes,
// so text can be normalized piecewise between them. The list covers the scripts that make up
// most text (everything below the combining diacritics, Cyrillic letters, general punctuation,
// CJK punctuation, kana, ideographs, Hangul syllables, full-width forms, emoji); any other
// code point sends its segment through utf8proc, which is always correct, only slower.
bool is_nfc_boundary(std::uint32_t code_point) {
  struct Range {
    std::uint32_t first, last;
  };
  static constexpr Range kRanges[] = {
      {0x0400, 0x0482}, {0x048A, 0x052F}, {0x2010, 0x2027},   {0x2030, 0x205E}, {0x3000, 0x3029},
      {0x3030, 0x303F}, {0x3041, 0x3096}, {0x30A1, 0x30FA},   {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
      {0xAC00, 0xD7A3}, {0xFF01, 0xFFEE}, {0x1F300, 0x1FAFF},
  };
  if (code_point < 0x300) return true;
  for (const Range& range : kRanges)
    if (code_point >= range.first && code_point <= range.last) return true;
  return false;
}

// NFC of `text`, calling utf8proc only on the segments that contain a code point outside the
// boundary set. Returns false (and leaves `out` empty) when the text is already NFC by that
// test, so the caller can keep a view instead of a copy.
bool nfc_segments(std::string_view text, std::string& out) {
  std::size_t position = 0;
  // Fast scan: the common case is text made only of boundary code points.
  while (position < text.size()) {
    auto byte = static_cast<unsigned char>(text[position]);
    if (byte < 0x80) {
      ++position;
      continue;
    }
    std::uint32_t code_point = 0;
    std::size_t length = decode_utf8_character(text, position, code_point);
    if (length == 0 || !is_nfc_boundary(code_point)) break;
    position += length;
  }
  if (position == text.size()) return false;

  // Slow path: copy clean runs, normalize each segment [boundary, next boundary) that holds a
  // code point outside the set.
  out.clear();
  out.reserve(text.size() + 16);
  std::size_t segment_start = 0;  // start of the current segment (at a boundary or at 0)
  std::size_t clean_start = 0;    // start of the run not yet copied
  bool dirty = false;
  std::size_t scan = 0;
  while (scan < text.size()) {
    std::uint32_t code_point = 0;
    std::size_t length = decode_utf8_character(text, scan, code_point);
    if (length == 0) length = 1;  // unreachable for valid UTF-8
    if (is_nfc_boundary(code_point)) {
      if (dirty) {
        out.append(text.data() + clean_start, segment_start - clean_start);
        append_normalized(text.substr(segment_start, scan - segment_start), NormalForm::nfc, out);
        clean_start = scan;
        dirty = false;
      }
      segment_start = scan;
    } else {
      dirty = true;
    }
    scan += length;
  }
  if (dirty) {
    out.append(text.data() + clean_start, segment_start - clean_start);
    append_normalized(text.substr(segment_start), NormalForm::nfc, out);
  } else {
    out.append(text.data() + clean_start, text.size() - clean_start);
  }
  return true;
}

NormalForm form_of(const std::string& type) {
  if (type == "NFC") return NormalForm::nfc;
  if (type == "NFD") return NormalForm::nfd;
  if (type == "NFKC") return NormalForm::nfkc;
  if (type == "NFKD") return NormalForm::nfkd;
  throw std::invalid_argument("unsupported normalizer type \"" + type +
                              "\" (supported: NFC, NFD, NFKC, NFKD, Sequence)");
}

void collect_forms(const nlohmann::json& node, std::vector<NormalForm>& forms) {
  if (node.is_null()) return;
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string())
    throw std::invalid_argument("normalizer without a \"type\"");
  std::string type = node["type"].get<std::string>();
  if (type == "Sequence") {
    const auto& list = node.contains("normalizers") ? node["normalizers"] : nlohmann::json();
    if (!list.is_array()) throw std::invalid_argument("Sequence normalizer without a list");
    for (const auto& child : list) collect_forms(child, forms);
    return;
  }
  forms.push_back(form_of(type));
}

}  // namespace

std::string normalize_whole(std::string_view text, NormalForm form) {
  std::string out;
  append_normalized(text, form, out);
  return out;
}

Normalizer Normalizer::from_json(const nlohmann::json& node) {
  Normalizer normalizer;
  collect_forms(node, normalizer.forms_);
  return normalizer;
}

Normalizer Normalizer::of(std::vector<NormalForm> forms) {
  Normalizer normalizer;
  normalizer.forms_ = std::move(forms);
  return normalizer;
}

std::string_view Normalizer::normalize(std::string_view text, std::string& storage) const {
  std::string_view current = text;
  std::string scratch;
  for (NormalForm form : forms_) {
    if (form == NormalForm::nfc) {
      if (!nfc_segments(current, scratch)) continue;
    } else {
      scratch = normalize_whole(current, form);
    }
    storage.swap(scratch);
    current = storage;
  }
  return current;
}

}  // namespace empo::text
