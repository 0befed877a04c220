#include "dir_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace aufs {

Status ReadDirEntries(int fd, const std::string& path, std::vector<DirEntry>* out) {
  // fdopendir takes ownership of its descriptor, so give it a duplicate.
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return Status::FromErrno("fcntl", path);
  DIR* dir = fdopendir(own);
  if (dir == nullptr) {
    Status s = Status::FromErrno("opendir", path);
    close(own);
    return s;
  }
  rewinddir(dir);
  for (;;) {
    errno = 0;
    struct dirent* ent = readdir(dir);
    if (ent == nullptr) {
      if (errno != 0) {
        Status s = Status::FromErrno("readdir", path);
        closedir(dir);
        return s;
      }
      break;
    }
    const char* n = ent->d_name;
    if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
    out->push_back(DirEntry{n, ent->d_type});
  }
  closedir(dir);
  return Status::Ok();
}

}  // namespace aufs
