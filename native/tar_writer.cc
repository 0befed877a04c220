#include "tar_writer.h"

#include <cstring>
#include <string>

namespace aufs {
namespace {

// Field offsets and sizes of a USTAR header block.
struct Field {
  size_t offset;
  size_t size;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChecksum{148, 8}, kLinkname{157, 100}, kUname{265, 32}, kGname{297, 32},
    kDevmajor{329, 8}, kDevminor{337, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;
constexpr char kMagicVersion[] = "ustar\0" "00";
constexpr size_t kMagicOffset = 257;

constexpr char kPaxHeaderDir[] = "PaxHeaders.0";

// Go's isASCII: no byte outside 1..127.
bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

// Go's toASCII: the bytes of `s` that are ASCII (multi-byte and invalid
// UTF-8 sequences dropped whole, as ranging over a Go string does).
std::string ToAscii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c != 0 && c < 0x80) out.push_back(static_cast<char>(c));
  }
  return out;
}

// Whether `x` fits an octal field of `size` bytes with its NUL.
bool FitsOctal(const Field& f, int64_t x) { return x >= 0 && x < (int64_t{1} << (3 * (f.size - 1))); }

// Go's formatString: copies what fits, NUL-terminates when there is room; a
// cut string's trailing slash (before the cut) becomes a NUL.
void PutString(uint8_t* block, const Field& f, std::string_view s) {
  uint8_t* b = block + f.offset;
  const size_t n = s.size() < f.size ? s.size() : f.size;
  if (n > 0) memcpy(b, s.data(), n);  // an empty view may hold no pointer
  if (s.size() < f.size) b[s.size()] = 0;
  if (s.size() > f.size && b[f.size - 1] == '/') {
    size_t end = f.size;
    while (end > 0 && s[end - 1] == '/') --end;
    b[end] = 0;
  }
}

// Go's formatOctal: zero-padded digits then NUL; 0 when `x` does not fit.
void PutOctal(uint8_t* block, const Field& f, int64_t x) {
  if (!FitsOctal(f, x)) x = 0;
  uint8_t* b = block + f.offset;
  b[f.size - 1] = 0;
  for (size_t i = f.size - 1; i-- > 0;) {
    b[i] = static_cast<uint8_t>('0' + (x & 7));
    x >>= 3;
  }
}

// Magic, version and the checksum: six octal digits, NUL, space.
void Seal(uint8_t* block) {
  memcpy(block + kMagicOffset, kMagicVersion, sizeof(kMagicVersion) - 1);
  memset(block + kChecksum.offset, ' ', kChecksum.size);
  int64_t sum = 0;
  for (size_t i = 0; i < kTarBlockSize; ++i) sum += block[i];
  PutOctal(block, Field{kChecksum.offset, 7}, sum);
  block[kChecksum.offset + 7] = ' ';
}

uint8_t* NewBlock(ByteBuffer* out) {
  uint8_t* block = out->Grow(kTarBlockSize);
  memset(block, 0, kTarBlockSize);
  return block;
}

// Go's splitUSTARPath: a name over 100 bytes as prefix and name fields, cut
// at the last slash among its first 156 bytes. False when it cannot be.
bool SplitUstarPath(std::string_view name, std::string_view* prefix, std::string_view* rest) {
  if (name.size() <= kName.size || !IsAscii(name)) return false;
  size_t length = name.size();
  if (length > kPrefix.size + 1) {
    length = kPrefix.size + 1;
  } else if (name[length - 1] == '/') {
    --length;
  }
  const size_t slash = name.substr(0, length).rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  const size_t suffix = name.size() - slash - 1;
  if (suffix > kName.size || suffix == 0 || slash > kPrefix.size) return false;
  *prefix = name.substr(0, slash);
  *rest = name.substr(slash + 1);
  return true;
}

// Go's formatPAXRecord: "LENGTH KEY=VALUE\n", LENGTH counting itself.
void AppendRecord(std::string* records, std::string_view key, std::string_view value) {
  const size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t length = body + std::to_string(body).size();
  if (std::to_string(length).size() + body != length) length = std::to_string(length).size() + body;
  *records += std::to_string(length);
  *records += ' ';
  *records += key;
  *records += '=';
  *records += value;
  *records += '\n';
}

// The PAX records `h` needs, in Go's (sorted) keyword order, and whether a
// plain USTAR header can say it all instead.
bool PaxRecords(const TarHeader& h, std::string* records) {
  bool ustar = true;
  const auto text = [&](std::string_view s, const Field& f, bool splittable) {
    if (IsAscii(s) && s.size() <= f.size) return false;
    std::string_view prefix, rest;
    if (!splittable || !SplitUstarPath(s, &prefix, &rest)) ustar = false;
    return true;
  };
  const auto number = [&](int64_t x, const Field& f) {
    if (FitsOctal(f, x)) return false;
    ustar = false;
    return true;
  };
  if (!h.capability.empty()) {
    ustar = false;
    AppendRecord(records, "SCHILY.xattr.security.capability", h.capability);
  }
  if (number(h.gid, kGid)) AppendRecord(records, "gid", std::to_string(h.gid));
  if (text(h.gname, kGname, false)) AppendRecord(records, "gname", h.gname);
  if (text(h.linkname, kLinkname, false)) AppendRecord(records, "linkpath", h.linkname);
  if (number(h.mtime, kMtime)) AppendRecord(records, "mtime", std::to_string(h.mtime));
  if (text(h.name, kName, true)) AppendRecord(records, "path", h.name);
  // Sizes reach 8 GiB long before int64's end.
  if (number(static_cast<int64_t>(h.size), kSize)) AppendRecord(records, "size", std::to_string(h.size));
  if (number(h.uid, kUid)) AppendRecord(records, "uid", std::to_string(h.uid));
  if (text(h.uname, kUname, false)) AppendRecord(records, "uname", h.uname);
  return ustar;
}

// The numbers and strings of `h` (Go's templateV7Plus).
void PutFields(uint8_t* block, const TarHeader& h, std::string_view name, std::string_view linkname,
               std::string_view uname, std::string_view gname) {
  block[kTypeflag] = static_cast<uint8_t>(h.typeflag);
  PutString(block, kName, name);
  PutString(block, kLinkname, linkname);
  PutOctal(block, kMode, h.mode);
  PutOctal(block, kUid, h.uid);
  PutOctal(block, kGid, h.gid);
  PutOctal(block, kSize, static_cast<int64_t>(h.size));
  PutOctal(block, kMtime, h.mtime);
  PutString(block, kUname, uname);
  PutString(block, kGname, gname);
  PutOctal(block, kDevmajor, h.devmajor);
  PutOctal(block, kDevminor, h.devminor);
}

// Go's path.Join(dir, "PaxHeaders.0", base) for a clean name, made ASCII,
// cut to the name field, without trailing slashes (writeRawFile).
std::string PaxHeaderName(std::string_view name) {
  const size_t slash = name.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? "" : name.substr(0, slash + 1);
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  std::string joined(dir);
  joined += kPaxHeaderDir;
  if (!base.empty()) {
    joined += '/';
    joined += base;
  }
  std::string ascii = ToAscii(joined);
  if (ascii.size() > kName.size) ascii.resize(kName.size);
  while (!ascii.empty() && ascii.back() == '/') ascii.pop_back();
  return ascii;
}

void AppendPaxHeader(const TarHeader& h, const std::string& records, ByteBuffer* out) {
  uint8_t* block = NewBlock(out);
  block[kTypeflag] = 'x';
  PutString(block, kName, PaxHeaderName(h.name));
  PutOctal(block, kMode, 0);
  PutOctal(block, kUid, 0);
  PutOctal(block, kGid, 0);
  PutOctal(block, kSize, static_cast<int64_t>(records.size()));
  PutOctal(block, kMtime, 0);
  Seal(block);
  memcpy(out->Grow(records.size()), records.data(), records.size());
  AppendTarPadding(records.size(), out);
}

}  // namespace

void AppendTarHeader(const TarHeader& h, ByteBuffer* out) {
  std::string records;
  if (PaxRecords(h, &records)) {
    std::string_view prefix, name = h.name;
    SplitUstarPath(h.name, &prefix, &name);
    uint8_t* block = NewBlock(out);
    PutFields(block, h, name, h.linkname, h.uname, h.gname);
    PutString(block, kPrefix, prefix);
    Seal(block);
    return;
  }
  AppendPaxHeader(h, records, out);
  uint8_t* block = NewBlock(out);
  PutFields(block, h, ToAscii(h.name), ToAscii(h.linkname), ToAscii(h.uname), ToAscii(h.gname));
  Seal(block);
}

void AppendTarPadding(uint64_t size, ByteBuffer* out) {
  const size_t padding = TarPadding(size);
  if (padding > 0) memset(out->Grow(padding), 0, padding);
}

void AppendTarTrailer(ByteBuffer* out) {
  for (int i = 0; i < 2; ++i) NewBlock(out);
}

}  // namespace aufs
