#include "tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "dir_reader.h"

namespace aufs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Empties the directory open at `fd` (on device `dev`); `path` names it in errors.
Status EmptyDir(int fd, dev_t dev, const std::string& path) {
  std::vector<DirEntry> entries;
  Status s = ReadDirEntries(fd, path, &entries);
  if (!s.ok()) return s;
  for (const DirEntry& e : entries) {
    const std::string child_path = JoinPath(path, e.name);
    if (e.type != DT_DIR && e.type != DT_UNKNOWN) {
      if (unlinkat(fd, e.name.c_str(), 0) != 0 && errno != ENOENT) {
        return Status::FromErrno("unlink", child_path);
      }
      continue;
    }
    int child = openat(fd, e.name.c_str(), kDirFlags);
    if (child < 0) {
      if (errno == ENOENT) continue;
      // DT_UNKNOWN that turned out not to be a directory (or a symlink).
      if (errno == ENOTDIR || errno == ELOOP) {
        if (unlinkat(fd, e.name.c_str(), 0) != 0 && errno != ENOENT) {
          return Status::FromErrno("unlink", child_path);
        }
        continue;
      }
      return Status::FromErrno("open", child_path);
    }
    struct stat st;
    if (fstat(child, &st) != 0) {
      s = Status::FromErrno("fstat", child_path);
    } else if (st.st_dev != dev) {
      s = Status::Sys(EBUSY, "rmdir", child_path);
    } else {
      s = EmptyDir(child, dev, child_path);
    }
    close(child);
    if (!s.ok()) return s;
    if (unlinkat(fd, e.name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return Status::FromErrno("rmdir", child_path);
    }
  }
  return Status::Ok();
}

}  // namespace

Status RemoveTreeAt(int dirfd, const std::string& name, const std::string& path) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno("lstat", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name.c_str(), 0) != 0) return Status::FromErrno("unlink", path);
    return Status::Ok();
  }
  int fd = openat(dirfd, name.c_str(), kDirFlags);
  if (fd < 0) return Status::FromErrno("open", path);
  Status s = EmptyDir(fd, st.st_dev, path);
  close(fd);
  if (!s.ok()) return s;
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) return Status::FromErrno("rmdir", path);
  return Status::Ok();
}

Status RemoveTree(const std::string& path) { return RemoveTreeAt(AT_FDCWD, path, path); }

}  // namespace aufs
