// Opening a layer's own directory (diff/ID). It may be a symlink — migrate()
// links layers it cannot move across filesystems — and it is ours, so it is
// followed; nothing below it ever is.
#pragma once

#include <fcntl.h>

#include <string>

namespace aufs {

inline int OpenLayerRoot(const std::string& path) {
  return open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

}  // namespace aufs
