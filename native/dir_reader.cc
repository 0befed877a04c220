#include "dir_reader.h"

#include <dirent.h>

#include <cerrno>
#include <cstddef>

namespace aufs {

namespace {

// Room for a few hundred entries per getdents64 call.
constexpr size_t kBufferSize = 16 * 1024;

bool IsDotOrDotDot(const char* n) {
  return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

}  // namespace

Status ReadDirEntries(int fd, const std::string& path, std::vector<DirEntry>* out) {
  // getdents64 on the caller's descriptor itself: no duplicate, no DIR stream,
  // which matters in walks that read every directory of a big tree.
  alignas(struct dirent64) char buffer[kBufferSize];
  for (;;) {
    ssize_t n = getdents64(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      // Removed while open: the kernel refuses to read a dead directory,
      // which has no entries anyway.
      if (errno == ENOENT) return Status::Ok();
      return Status::FromErrno("readdir", path);
    }
    if (n == 0) return Status::Ok();
    for (ssize_t offset = 0; offset < n;) {
      const auto* ent = reinterpret_cast<const struct dirent64*>(buffer + offset);
      offset += ent->d_reclen;
      if (!IsDotOrDotDot(ent->d_name)) out->push_back(DirEntry{ent->d_name, ent->d_type});
    }
  }
}

}  // namespace aufs
