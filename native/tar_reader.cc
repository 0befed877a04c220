#include "tar_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace aufs {

const char kTarInvalid[] = "ERR_TAR_INVALID";
const char kTarLimit[] = "ERR_TAR_LIMIT";
const char kTarBreakout[] = "ERR_TAR_BREAKOUT";

namespace {

constexpr size_t kBlock = 512;

// Offsets and widths of the header fields (POSIX ustar; GNU shares them up
// to the magic and uses the prefix area for other things).
struct Field {
  size_t offset, width;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChecksum{148, 8}, kLinkname{157, 100}, kMagic{257, 8},
    kDevmajor{329, 8}, kDevminor{337, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;

constexpr char kUstarMagic[] = "ustar\0" "00";  // POSIX, with version
constexpr char kPaxXattrPrefix[] = "SCHILY.xattr.";
constexpr char kGnuSparsePrefix[] = "GNU.sparse.";

uint64_t Padding(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, strlen(prefix), prefix) == 0;
}

std::string StringField(const uint8_t* block, Field f) {
  const char* p = reinterpret_cast<const char*>(block + f.offset);
  return std::string(p, strnlen(p, f.width));
}

// A numeric header field: octal digits (after optional spaces, ended by NUL or
// space) or, with the top bit of the first byte set, GNU's base-256 two's
// complement. False when malformed or beyond int64.
bool ParseNumeric(const uint8_t* block, Field f, int64_t* out) {
  const uint8_t* p = block + f.offset;
  if (p[0] & 0x80) {
    const uint8_t sign = (p[0] & 0x40) ? 0xff : 0x00;
    uint64_t value = 0;
    for (size_t i = 0; i < f.width; ++i) {
      uint8_t byte = p[i] ^ sign;
      if (i == 0) byte &= 0x7f;
      if (value >> 55) return false;
      value = value << 8 | byte;
    }
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = sign ? -static_cast<int64_t>(value) - 1 : static_cast<int64_t>(value);
    return true;
  }
  size_t i = 0;
  while (i < f.width && p[i] == ' ') ++i;
  uint64_t value = 0;
  for (; i < f.width && p[i] != '\0' && p[i] != ' '; ++i) {
    if (p[i] < '0' || p[i] > '7' || value >> 60) return false;
    value = value << 3 | (p[i] - '0');
  }
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

// Unsigned sum with the checksum field counted as spaces; old tars used a
// signed sum, which is accepted too.
bool ChecksumMatches(const uint8_t* block) {
  int64_t stored;
  if (!ParseNumeric(block, kChecksum, &stored)) return false;
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= kChecksum.offset && i < kChecksum.offset + kChecksum.width;
    const uint8_t byte = in_field ? ' ' : block[i];
    unsigned_sum += byte;
    signed_sum += static_cast<int8_t>(byte);
  }
  return stored == unsigned_sum || stored == signed_sum;
}

bool IsZeroBlock(const uint8_t* block) {
  return std::all_of(block, block + kBlock, [](uint8_t b) { return b == 0; });
}

bool ParseDecimal(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

// A pax time: optional sign, seconds, optional fraction (beyond nanoseconds
// truncated), as Go's archive/tar reads it.
bool ParsePaxTime(const std::string& s, struct timespec* out) {
  const bool negative = !s.empty() && s[0] == '-';
  const std::string body = negative ? s.substr(1) : s;
  const size_t dot = body.find('.');
  uint64_t sec;
  if (!ParseDecimal(body.substr(0, dot), std::numeric_limits<int64_t>::max(), &sec)) return false;
  long nsec = 0;
  if (dot != std::string::npos) {
    const std::string frac = body.substr(dot + 1);
    for (size_t i = 0; i < frac.size(); ++i) {
      if (frac[i] < '0' || frac[i] > '9') return false;
      if (i < 9) nsec = nsec * 10 + (frac[i] - '0');
    }
    for (size_t i = frac.size(); i < 9; ++i) nsec *= 10;
  }
  out->tv_sec = static_cast<time_t>(sec);
  out->tv_nsec = nsec;
  if (negative) {
    out->tv_sec = -out->tv_sec;
    if (nsec != 0) {
      out->tv_sec -= 1;
      out->tv_nsec = 1000000000L - nsec;
    }
  }
  return true;
}

bool ParseId(const std::string& s, uint32_t* out) {
  uint64_t value;
  // (uid_t)-1 means "unchanged" to chown: no entry may ask for it.
  if (!ParseDecimal(s, std::numeric_limits<uint32_t>::max() - 1, &value)) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

// Checks a name or link target the archive gave.
Status CheckPathString(const std::string& name, const char* what, const std::string& entry) {
  if (name.empty()) return EntryError(kTarInvalid, entry, std::string("empty ") + what);
  if (name.find('\0') != std::string::npos) {
    return EntryError(kTarInvalid, entry, std::string("NUL byte in its ") + what);
  }
  if (name.size() > kMaxPathLength) {
    return EntryError(kTarLimit, entry,
                      std::string(what) + " of " + std::to_string(name.size()) +
                          " bytes; the limit is " + std::to_string(kMaxPathLength));
  }
  return Status::Ok();
}

// The name field, behind the prefix field in POSIX ustar headers (GNU
// headers keep other things there).
std::string HeaderName(const uint8_t* block) {
  const std::string name = StringField(block, kName);
  if (memcmp(block + kMagic.offset, kUstarMagic, kMagic.width) != 0) return name;
  const std::string prefix = StringField(block, kPrefix);
  return prefix.empty() ? name : prefix + "/" + name;
}

Status EntryTypeOf(char typeflag, const std::string& name, EntryType* type) {
  switch (typeflag) {
    case '\0':
      // Pre-POSIX archives marked directories only by a trailing slash.
      *type = !name.empty() && name.back() == '/' ? EntryType::kDirectory : EntryType::kFile;
      return Status::Ok();
    case '0':
    case '7': *type = EntryType::kFile; return Status::Ok();
    case '1': *type = EntryType::kHardLink; return Status::Ok();
    case '2': *type = EntryType::kSymlink; return Status::Ok();
    case '3': *type = EntryType::kCharDevice; return Status::Ok();
    case '4': *type = EntryType::kBlockDevice; return Status::Ok();
    case '5': *type = EntryType::kDirectory; return Status::Ok();
    case '6': *type = EntryType::kFifo; return Status::Ok();
    case 'S': return EntryError(kTarInvalid, name, "GNU sparse files are not supported");
    default: return EntryError(kTarInvalid, name, "unsupported entry type " + Quoted(std::string(1, typeflag)));
  }
}

}  // namespace

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

Status EntryError(const char* code, const std::string& name, const std::string& reason) {
  return Status::Custom(code, "tar entry " + Quoted(name) + ": " + reason);
}

Status TarReader::HeaderError(const char* code, const std::string& reason) const {
  return Status::Custom(code, "tar header at byte " + std::to_string(block_offset_) + ": " + reason);
}

Status TarReader::Feed(const uint8_t* data, size_t size) {
  while (size > 0) {
    size_t used = 0;
    Status s = Step(data, size, &used);
    if (!s.ok()) return s;
    data += used;
    size -= used;
    offset_ += used;
  }
  return Status::Ok();
}

Status TarReader::End() const {
  const bool at_boundary = skip_ == 0 && block_fill_ == 0;
  if (state_ == State::kDone || state_ == State::kAfterZeroBlock ||
      (state_ == State::kHeader && at_boundary && !pending_.any)) {
    // Like Go's reader (and so Docker), an archive may stop at an entry
    // boundary without its end-of-archive blocks.
    return Status::Ok();
  }
  return Status::Custom(kTarInvalid, "tar archive is truncated: input ended at byte " +
                                         std::to_string(offset_) + " inside an entry");
}

Status TarReader::Step(const uint8_t* data, size_t size, size_t* used) {
  if (skip_ > 0) {
    *used = static_cast<size_t>(std::min<uint64_t>(skip_, size));
    skip_ -= *used;
    return Status::Ok();
  }
  switch (state_) {
    case State::kHeader:
    case State::kAfterZeroBlock: {
      if (block_fill_ == 0) block_offset_ = offset_;
      *used = std::min(kBlock - block_fill_, size);
      memcpy(block_ + block_fill_, data, *used);
      block_fill_ += *used;
      if (block_fill_ < kBlock) return Status::Ok();
      block_fill_ = 0;
      return OnBlock();
    }
    case State::kExtended: {
      *used = static_cast<size_t>(std::min<uint64_t>(extended_size_ - extended_.size(), size));
      extended_.append(reinterpret_cast<const char*>(data), *used);
      return extended_.size() == extended_size_ ? EndExtended() : Status::Ok();
    }
    case State::kData: {
      *used = static_cast<size_t>(std::min<uint64_t>(data_left_, size));
      data_left_ -= *used;
      Status s = sink_->OnData(data, *used);
      if (!s.ok() || data_left_ > 0) return s;
      state_ = State::kHeader;
      skip_ = data_padding_;
      return sink_->OnEntryEnd();
    }
    case State::kDone:
      // Records are padded with zeros past the end-of-archive blocks.
      *used = size;
      return Status::Ok();
  }
  return Status::Ok();
}

Status TarReader::OnBlock() {
  if (IsZeroBlock(block_)) {
    state_ = state_ == State::kAfterZeroBlock ? State::kDone : State::kAfterZeroBlock;
    return Status::Ok();
  }
  if (state_ == State::kAfterZeroBlock) {
    return HeaderError(kTarInvalid, "an entry follows an end-of-archive block");
  }
  if (!ChecksumMatches(block_)) {
    return HeaderError(kTarInvalid, "bad checksum: not a tar archive, or a corrupt one");
  }
  int64_t size;
  if (!ParseNumeric(block_, kSize, &size) || size < 0) {
    return HeaderError(kTarInvalid, "bad size field");
  }
  const char typeflag = static_cast<char>(block_[kTypeflag]);
  const uint64_t usize = static_cast<uint64_t>(size);
  switch (typeflag) {
    case 'x':
      return BeginExtended(Extended::kPax, usize);
    case 'L':
      return BeginExtended(Extended::kLongName, usize);
    case 'K':
      return BeginExtended(Extended::kLongLink, usize);
    case 'g':
      // Global pax headers are ignored, as Docker ignored them.
      if (usize > kMaxPaxHeaderSize) return HeaderError(kTarLimit, "global pax header too large");
      skip_ = usize + Padding(usize);
      return Status::Ok();
    default:
      return BeginEntry(typeflag, usize);
  }
}

Status TarReader::BeginExtended(Extended kind, uint64_t size) {
  const uint64_t limit = kind == Extended::kPax ? kMaxPaxHeaderSize : kMaxPathLength + 1;
  if (size > limit) {
    return HeaderError(kTarLimit, std::string(kind == Extended::kPax ? "pax header" : "GNU long name") +
                                      " of " + std::to_string(size) + " bytes; the limit is " +
                                      std::to_string(limit));
  }
  extended_kind_ = kind;
  extended_size_ = size;
  extended_.clear();
  state_ = State::kExtended;
  return size == 0 ? EndExtended() : Status::Ok();
}

Status TarReader::EndExtended() {
  state_ = State::kHeader;
  pending_.any = true;
  skip_ = Padding(extended_size_);
  if (extended_kind_ == Extended::kPax) return ParsePax(extended_);
  // GNU long names end with a NUL, which is not part of the name.
  const std::string name = extended_.substr(0, extended_.find('\0'));
  if (extended_kind_ == Extended::kLongName) {
    pending_.entry.name = name;
    pending_.has_name = true;
  } else {
    pending_.entry.linkname = name;
    pending_.has_linkname = true;
  }
  return Status::Ok();
}

// Records are "LENGTH KEY=VALUE\n", LENGTH counting the whole record.
Status TarReader::ParsePax(const std::string& records) {
  size_t pos = 0;
  while (pos < records.size()) {
    if (records[pos] == '\0') break;  // some writers pad the header with NULs
    size_t space = records.find(' ', pos);
    uint64_t length;
    if (space == std::string::npos ||
        !ParseDecimal(records.substr(pos, space - pos), records.size() - pos, &length) ||
        length < space - pos + 4 || records[pos + length - 1] != '\n') {
      return HeaderError(kTarInvalid, "malformed pax record");
    }
    const std::string record = records.substr(space + 1, pos + length - 1 - (space + 1));
    const size_t eq = record.find('=');
    if (eq == std::string::npos || eq == 0) return HeaderError(kTarInvalid, "malformed pax record");
    Status s = ApplyPaxRecord(record.substr(0, eq), record.substr(eq + 1));
    if (!s.ok()) return s;
    pos += length;
  }
  return Status::Ok();
}

Status TarReader::ApplyPaxRecord(const std::string& key, const std::string& value) {
  TarEntry& e = pending_.entry;
  if (StartsWith(key, kPaxXattrPrefix)) {
    e.xattrs.emplace_back(key.substr(strlen(kPaxXattrPrefix)), value);
    return Status::Ok();
  }
  if (StartsWith(key, kGnuSparsePrefix)) {
    return HeaderError(kTarInvalid, "GNU sparse files are not supported");
  }
  // An empty value removes the record's effect: the header field applies.
  if (value.empty()) return Status::Ok();
  bool ok = true;
  if (key == "path") {
    e.name = value;
    pending_.has_name = true;
  } else if (key == "linkpath") {
    e.linkname = value;
    pending_.has_linkname = true;
  } else if (key == "size") {
    ok = pending_.has_size = ParseDecimal(value, std::numeric_limits<int64_t>::max(), &e.size);
  } else if (key == "uid") {
    ok = pending_.has_uid = ParseId(value, &e.uid);
  } else if (key == "gid") {
    ok = pending_.has_gid = ParseId(value, &e.gid);
  } else if (key == "mtime") {
    ok = pending_.has_mtime = ParsePaxTime(value, &e.mtime);
  } else if (key == "atime") {
    ok = pending_.has_atime = ParsePaxTime(value, &e.atime);
  }
  return ok ? Status::Ok() : HeaderError(kTarInvalid, "bad pax value for " + key);
}

Status TarReader::BeginEntry(char typeflag, uint64_t header_size) {
  Pending pending = std::move(pending_);
  pending_ = Pending();
  TarEntry& e = pending.entry;
  if (!pending.has_name) e.name = HeaderName(block_);
  if (!pending.has_linkname) e.linkname = StringField(block_, kLinkname);
  if (!pending.has_size) e.size = header_size;
  Status s = DecodeNumbers(pending);
  if (s.ok()) s = EntryTypeOf(typeflag, e.name, &e.type);
  if (s.ok()) s = CheckPathString(e.name, "name", e.name);
  if (s.ok() && (e.type == EntryType::kHardLink || e.type == EntryType::kSymlink)) {
    s = CheckPathString(e.linkname, "link target", e.name);
  }
  if (!s.ok()) return s;
  // POSIX: entries of the other types carry no data, whatever their size
  // field says (Go's reader, and so Docker, agree).
  if (e.type != EntryType::kFile) e.size = 0;

  s = sink_->OnEntry(e);
  if (!s.ok()) return s;
  if (e.size == 0) return sink_->OnEntryEnd();
  data_left_ = e.size;
  data_padding_ = Padding(e.size);
  state_ = State::kData;
  return Status::Ok();
}

// The header's mode, owner, mtime and device numbers, where pax did not say.
Status TarReader::DecodeNumbers(Pending& pending) const {
  TarEntry& e = pending.entry;
  int64_t mode, uid, gid, mtime, devmajor, devminor;
  constexpr int64_t kMaxId = std::numeric_limits<uint32_t>::max() - 1;
  const auto is_id = [](int64_t v) { return v >= 0 && v <= kMaxId; };
  if (!ParseNumeric(block_, kMode, &mode) || !ParseNumeric(block_, kUid, &uid) ||
      !ParseNumeric(block_, kGid, &gid) || !ParseNumeric(block_, kMtime, &mtime) ||
      !ParseNumeric(block_, kDevmajor, &devmajor) || !ParseNumeric(block_, kDevminor, &devminor) ||
      !is_id(uid) || !is_id(gid) || !is_id(devmajor) || !is_id(devminor)) {
    return HeaderError(kTarInvalid, "bad numeric field in the header of " + Quoted(e.name));
  }
  e.mode = static_cast<uint32_t>(mode) & 07777;
  if (!pending.has_uid) e.uid = static_cast<uint32_t>(uid);
  if (!pending.has_gid) e.gid = static_cast<uint32_t>(gid);
  if (!pending.has_mtime) e.mtime = {static_cast<time_t>(mtime), 0};
  if (!pending.has_atime) e.atime = e.mtime;
  e.devmajor = static_cast<uint32_t>(devmajor);
  e.devminor = static_cast<uint32_t>(devminor);
  return Status::Ok();
}

}  // namespace aufs
