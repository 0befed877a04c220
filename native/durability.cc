#include "durability.h"

#include <fcntl.h>
#include <unistd.h>

namespace aufs {

Status SyncFilesystem(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open", path);
  Status s = syncfs(fd) == 0 ? Status::Ok() : Status::FromErrno("syncfs", path);
  close(fd);
  return s;
}

}  // namespace aufs
