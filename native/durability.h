// Making what was written survive a power loss: applyDiff's last step before
// it declares a layer complete.
#pragma once

#include <string>

#include "status.h"

namespace aufs {

// syncfs(2) of the filesystem holding the directory `path`: one call makes
// every file an extraction wrote durable, where fsync per file would cost a
// journal commit each.
Status SyncFilesystem(const std::string& path);

}  // namespace aufs
