// The names in one directory, read in one go and then looked up in memory:
// cheaper than a lookup syscall per name once a walk asks a directory for
// more than a few of its names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dir_reader.h"
#include "status.h"

namespace aufs {

class DirNames {
 public:
  static constexpr int kAbsent = -1;

  // Reads every entry of the directory open at `fd`; `path` is for errors.
  Status Read(int fd, const std::string& path);

  // The DT_* type getdents gave `name`, or kAbsent.
  int Find(std::string_view name) const;

 private:
  size_t Slot(std::string_view name) const;

  std::vector<DirEntry> entries_;
  // Open addressing over entries_: index + 1, or 0 for a free slot. Indices
  // rather than pointers, so that a DirNames can move.
  std::vector<uint32_t> slots_;
};

}  // namespace aufs
