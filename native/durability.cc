#include "durability.h"

#include <fcntl.h>
#include <unistd.h>

#include "unique_fd.h"

namespace aufs {

Status SyncFilesystem(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open", path);
  return syncfs(fd.get()) == 0 ? Status::Ok() : Status::FromErrno("syncfs", path);
}

}  // namespace aufs
