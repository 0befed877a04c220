#include "whiteouts.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "dir_reader.h"

namespace aufs {

const char kWhiteoutPrefix[] = ".wh.";
const char kOpaqueMarker[] = ".wh..wh..opq";
const char kMetaPrefix[] = ".wh..wh.";

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
// aufs makes its whiteouts read-only for everybody.
constexpr mode_t kWhiteoutMode = 0444;

// The names under which overlay implementations mark a directory opaque:
// the kernel's, its unprivileged variant, and fuse-overlayfs's own fallback.
const char* const kOpaqueXattrs[] = {
    "trusted.overlay.opaque",
    "user.overlay.opaque",
    "user.fuseoverlayfs.opaque",
};

// Creates the empty aufs whiteout file `name` in `dirfd` unless it exists.
Status CreateWhiteoutFile(int dirfd, const std::string& name, const std::string& dir) {
  int fd = openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  kWhiteoutMode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::FromErrno("open", JoinPath(dir, name));
  }
  close(fd);
  return Status::Ok();
}

Status ConvertDir(int fd, dev_t dev, const std::string& path, uint64_t* converted) {
  if (HasOpaqueXattr(fd)) {
    Status s = CreateWhiteoutFile(fd, kOpaqueMarker, path);
    if (!s.ok()) return s;
    for (const char* attr : kOpaqueXattrs) {
      if (fremovexattr(fd, attr) != 0 && errno != ENODATA && errno != ENOTSUP) {
        return Status::FromErrno("removexattr", path);
      }
    }
    ++*converted;
  }
  std::vector<DirEntry> entries;
  Status s = ReadDirEntries(fd, path, &entries);
  if (!s.ok()) return s;
  for (const DirEntry& e : entries) {
    if (e.type != DT_DIR && e.type != DT_CHR && e.type != DT_UNKNOWN) continue;
    const std::string child_path = JoinPath(path, e.name);
    struct stat st;
    if (fstatat(fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return Status::FromErrno("lstat", child_path);
    }
    if (IsOverlayWhiteout(st)) {
      const std::string aufs_name = kWhiteoutPrefix + e.name;
      // A name too long for the prefix stays in overlay form; readers of the
      // layer understand both forms.
      if (aufs_name.size() > NAME_MAX) continue;
      s = CreateWhiteoutFile(fd, aufs_name, path);
      if (!s.ok()) return s;
      if (unlinkat(fd, e.name.c_str(), 0) != 0 && errno != ENOENT) {
        return Status::FromErrno("unlink", child_path);
      }
      ++*converted;
      continue;
    }
    if (!S_ISDIR(st.st_mode) || st.st_dev != dev) continue;
    int child = openat(fd, e.name.c_str(), kDirFlags);
    if (child < 0) {
      if (errno == ENOENT) continue;
      return Status::FromErrno("open", child_path);
    }
    s = ConvertDir(child, dev, child_path, converted);
    close(child);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

bool IsAufsBookkeeping(const std::string& name, int depth) {
  return depth == 1 && (name == ".wh..wh.aufs" || name == ".wh..wh.plnk" || name == ".wh..wh.orph");
}

bool IsExcludedFromDiff(const std::string& name, int depth) {
  return depth == 1 && name.compare(0, sizeof(kMetaPrefix) - 1, kMetaPrefix) == 0 &&
         name != kOpaqueMarker;
}

bool IsOverlayWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool IsOverlayXattr(const std::string& name) {
  for (const char* prefix : {"trusted.overlay.", "user.overlay.", "user.fuseoverlayfs."}) {
    if (name.compare(0, strlen(prefix), prefix) == 0) return true;
  }
  return false;
}

bool HasOpaqueXattr(int fd) {
  for (const char* attr : kOpaqueXattrs) {
    char value[2];
    ssize_t n = fgetxattr(fd, attr, value, sizeof(value));
    if (n == 1 && value[0] == 'y') return true;
  }
  return false;
}

Status ConvertOverlayWhiteouts(const std::string& dir, uint64_t* converted) {
  *converted = 0;
  int fd = open(dir.c_str(), kDirFlags);
  if (fd < 0) return Status::FromErrno("open", dir);
  struct stat st;
  Status s = fstat(fd, &st) == 0 ? ConvertDir(fd, st.st_dev, dir, converted)
                                 : Status::FromErrno("fstat", dir);
  close(fd);
  return s;
}

}  // namespace aufs
