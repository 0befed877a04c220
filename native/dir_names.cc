#include "dir_names.h"

#include <functional>

namespace aufs {

Status DirNames::Read(int fd, const std::string& path) {
  entries_.clear();
  Status s = ReadDirEntries(fd, path, &entries_);
  if (!s.ok()) return s;
  // At most half full, so that probes stay short.
  size_t size = 8;
  while (size < entries_.size() * 2) size *= 2;
  slots_.assign(size, 0);
  for (size_t i = 0; i < entries_.size(); ++i) {
    size_t slot = Slot(entries_[i].name);
    while (slots_[slot] != 0) slot = (slot + 1) & (slots_.size() - 1);
    slots_[slot] = static_cast<uint32_t>(i + 1);
  }
  return Status::Ok();
}

int DirNames::Find(std::string_view name) const {
  if (slots_.empty()) return kAbsent;
  for (size_t slot = Slot(name); slots_[slot] != 0; slot = (slot + 1) & (slots_.size() - 1)) {
    const DirEntry& entry = entries_[slots_[slot] - 1];
    if (entry.name == name) return entry.type;
  }
  return kAbsent;
}

size_t DirNames::Slot(std::string_view name) const {
  return std::hash<std::string_view>()(name) & (slots_.size() - 1);
}

}  // namespace aufs
