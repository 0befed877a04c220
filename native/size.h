// diffSize(): how many bytes a layer's own files take, as Docker counted them.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "status.h"

namespace aufs {

// Sum of lstat sizes of every non-directory below `root` (a symlink counts the
// length of its target), each inode once however many links it has.
Status TreeSize(const std::string& root, const std::atomic<bool>* cancelled, uint64_t* size);

}  // namespace aufs
