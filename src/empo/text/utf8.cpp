#include "empo/text/utf8.h"

namespace empo::text {

namespace {

// Length of the character a lead byte announces, 0 when it cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The range allowed for the byte after `lead` (Unicode table 3-7); later bytes are 80..BF.
bool second_byte_allowed(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0:
      return byte >= 0xA0 && byte <= 0xBF;
    case 0xED:
      return byte >= 0x80 && byte <= 0x9F;
    case 0xF0:
      return byte >= 0x90 && byte <= 0xBF;
    case 0xF4:
      return byte >= 0x80 && byte <= 0x8F;
    default:
      return byte >= 0x80 && byte <= 0xBF;
  }
}

// How many bytes from `position` form a well-formed prefix of one character, and whether that
// prefix is the whole character. A lead byte that cannot start a character gives {0, false}.
struct Prefix {
  std::size_t length;
  bool complete;
};

Prefix well_formed_prefix(std::string_view bytes, std::size_t position) {
  auto lead = static_cast<unsigned char>(bytes[position]);
  int needed = sequence_length(lead);
  if (needed == 0) return {0, false};
  std::size_t length = 1;
  while (length < static_cast<std::size_t>(needed) && position + length < bytes.size()) {
    auto byte = static_cast<unsigned char>(bytes[position + length]);
    bool allowed = length == 1 ? second_byte_allowed(lead, byte) : (byte >= 0x80 && byte <= 0xBF);
    if (!allowed) return {length, false};
    ++length;
  }
  return {length, length == static_cast<std::size_t>(needed)};
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  std::size_t position = 0;
  while (position < bytes.size()) {
    if (static_cast<unsigned char>(bytes[position]) < 0x80) {
      ++position;
      continue;
    }
    Prefix prefix = well_formed_prefix(bytes, position);
    if (!prefix.complete) return false;
    position += prefix.length;
  }
  return true;
}

void append_valid_utf8(std::string_view bytes, std::string& out) {
  std::size_t position = 0;
  while (position < bytes.size()) {
    // Copy the longest run of ASCII and well-formed characters in one go.
    std::size_t run_start = position;
    while (position < bytes.size()) {
      if (static_cast<unsigned char>(bytes[position]) < 0x80) {
        ++position;
        continue;
      }
      Prefix prefix = well_formed_prefix(bytes, position);
      if (!prefix.complete) break;
      position += prefix.length;
    }
    out.append(bytes.data() + run_start, position - run_start);
    if (position == bytes.size()) break;
    Prefix bad = well_formed_prefix(bytes, position);
    out.append(kReplacementCharacter);
    position += bad.length == 0 ? 1 : bad.length;
  }
}

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_valid_utf8(bytes, out);
  return out;
}

std::size_t incomplete_utf8_suffix(std::string_view bytes) {
  // A lead byte is never a continuation byte, so the only candidate is the last lead byte
  // among the final three bytes.
  std::size_t lookback = bytes.size() < 3 ? bytes.size() : 3;
  for (std::size_t back = 1; back <= lookback; ++back) {
    std::size_t position = bytes.size() - back;
    auto byte = static_cast<unsigned char>(bytes[position]);
    if (byte >= 0x80 && byte <= 0xBF) continue;  // a continuation byte: look further back
    Prefix prefix = well_formed_prefix(bytes, position);
    bool truncated = prefix.length == back && !prefix.complete &&
                     prefix.length < static_cast<std::size_t>(sequence_length(byte));
    return truncated ? back : 0;
  }
  return 0;
}

std::size_t decode_utf8_character(std::string_view bytes, std::size_t position,
                                  std::uint32_t& code_point) {
  auto lead = static_cast<unsigned char>(bytes[position]);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  Prefix prefix = well_formed_prefix(bytes, position);
  if (!prefix.complete) return 0;
  static const unsigned char kLeadMask[5] = {0, 0, 0x1F, 0x0F, 0x07};
  std::uint32_t value = lead & kLeadMask[prefix.length];
  for (std::size_t i = 1; i < prefix.length; ++i)
    value = (value << 6) | (static_cast<unsigned char>(bytes[position + i]) & 0x3F);
  code_point = value;
  return prefix.length;
}

void append_utf8(std::uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace empo::text
