// Streaming reader of tar archives from untrusted input (POSIX ustar and pax,
// GNU, v7): bytes go in as they arrive, entries come out through a TarSink.
// Whatever an archive says, the reader holds at most one extended header of
// bounded size; file data is passed through without being buffered.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace aufs {

// Codes of the errors an archive itself causes.
extern const char kTarInvalid[];   // "ERR_TAR_INVALID": not a well-formed tar
extern const char kTarLimit[];     // "ERR_TAR_LIMIT": beyond what one entry may cost
extern const char kTarBreakout[];  // "ERR_TAR_BREAKOUT": would reach outside the layer

// Largest pax extended header accepted (Go's archive/tar uses the same).
constexpr size_t kMaxPaxHeaderSize = 1 << 20;
// Longest entry name or link target accepted: PATH_MAX less its NUL.
constexpr size_t kMaxPathLength = 4095;

enum class EntryType { kFile, kHardLink, kSymlink, kCharDevice, kBlockDevice, kDirectory, kFifo };

struct TarEntry {
  EntryType type = EntryType::kFile;
  std::string name;      // as the archive spells it
  std::string linkname;  // target of a hard link or symlink
  uint32_t mode = 0;     // permission bits, with setuid, setgid and sticky
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;     // bytes of data that follow (regular files only)
  struct timespec atime = {0, 0};
  struct timespec mtime = {0, 0};
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // from SCHILY.xattr.*
};

// Receives the entries: OnEntry, then OnData for each piece of the entry's
// data (none when size is 0), then OnEntryEnd. A failed Status stops reading.
class TarSink {
 public:
  virtual ~TarSink() = default;
  virtual Status OnEntry(const TarEntry& entry) = 0;
  virtual Status OnData(const uint8_t* data, size_t size) = 0;
  virtual Status OnEntryEnd() = 0;
};

// `tar entry "NAME": REASON` as a Status with `code`.
Status EntryError(const char* code, const std::string& name, const std::string& reason);

// `"S"`, for messages.
std::string Quoted(const std::string& s);

class TarReader {
 public:
  explicit TarReader(TarSink* sink) : sink_(sink) {}

  // Consumes the next `size` bytes of the archive.
  Status Feed(const uint8_t* data, size_t size);
  // Called at the end of input: fails when the archive was cut short.
  Status End() const;

 private:
  enum class State { kHeader, kAfterZeroBlock, kExtended, kData, kDone };
  enum class Extended { kPax, kLongName, kLongLink };

  // What pax and GNU extended headers said about the entry that follows.
  struct Pending {
    bool any = false;  // some extended header is waiting for its entry
    bool has_name = false, has_linkname = false, has_size = false;
    bool has_uid = false, has_gid = false, has_mtime = false, has_atime = false;
    TarEntry entry;
  };

  Status Step(const uint8_t* data, size_t size, size_t* used);
  Status OnBlock();
  Status BeginExtended(Extended kind, uint64_t size);
  Status EndExtended();
  Status ParsePax(const std::string& records);
  Status ApplyPaxRecord(const std::string& key, const std::string& value);
  Status BeginEntry(char typeflag, uint64_t header_size);
  Status DecodeNumbers(Pending& pending) const;
  Status HeaderError(const char* code, const std::string& reason) const;

  TarSink* sink_;
  State state_ = State::kHeader;
  uint64_t offset_ = 0;         // of the next byte fed, for messages
  uint64_t block_offset_ = 0;   // of the header being decoded
  uint8_t block_[512];
  size_t block_fill_ = 0;
  Extended extended_kind_ = Extended::kPax;
  uint64_t extended_size_ = 0;
  std::string extended_;
  Pending pending_;
  uint64_t data_left_ = 0;      // of the current entry
  uint64_t data_padding_ = 0;   // after the current entry's data
  uint64_t skip_ = 0;           // padding (or ignored data) before the next block
};

}  // namespace aufs
