#include "whiteouts.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <numeric>
#include <vector>

#include "dir_reader.h"
#include "eintr.h"
#include "layer_root.h"

namespace aufs {

const char kWhiteoutPrefix[] = ".wh.";
const char kOpaqueMarker[] = ".wh..wh..opq";
const char kMetaPrefix[] = ".wh..wh.";

namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The names under which overlay implementations mark a directory opaque:
// the kernel's, its unprivileged variant, and fuse-overlayfs's own fallback.
const char* const kOpaqueXattrs[] = {
    "trusted.overlay.opaque",
    "user.overlay.opaque",
    "user.fuseoverlayfs.opaque",
};

// Creates the empty aufs whiteout file `name` in `dirfd` unless it exists,
// owned by and as old as `origin`.
Status CreateWhiteoutFile(int dirfd, const std::string& name, const std::string& dir,
                          const struct stat& origin) {
  int fd = openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  kWhiteoutMode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::FromErrno("open", JoinPath(dir, name));
  }
  const struct timespec times[2] = {origin.st_atim, origin.st_mtim};
  Status s;
  if (fchown(fd, origin.st_uid, origin.st_gid) != 0) {
    s = Status::FromErrno("fchown", JoinPath(dir, name));
  } else if (futimens(fd, times) != 0) {
    s = Status::FromErrno("futimens", JoinPath(dir, name));
  }
  close(fd);
  return s;
}

// Puts back the times of the directory open at `fd`, which its rewritten
// entries changed.
Status RestoreTimes(int fd, const struct stat& st, const std::string& path) {
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(fd, times) != 0) return Status::FromErrno("futimens", path);
  return Status::Ok();
}

Status ConvertDir(int fd, const struct stat& dir_st, const std::string& path,
                  uint64_t* converted) {
  bool changed = false;  // this directory's own entries
  if (HasOpaqueXattr(fd)) {
    Status s = CreateWhiteoutFile(fd, kOpaqueMarker, path, dir_st);
    if (!s.ok()) return s;
    for (const char* attr : kOpaqueXattrs) {
      if (fremovexattr(fd, attr) != 0 && errno != ENODATA && errno != ENOTSUP) {
        return Status::FromErrno("removexattr", path);
      }
    }
    changed = true;
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
      // A name too long for the prefix stays in overlay form; changes()
      // understands both forms.
      if (!HasAufsForm(e.name)) continue;
      s = CreateWhiteoutFile(fd, kWhiteoutPrefix + e.name, path, st);
      if (!s.ok()) return s;
      if (unlinkat(fd, e.name.c_str(), 0) != 0 && errno != ENOENT) {
        return Status::FromErrno("unlink", child_path);
      }
      changed = true;
      ++*converted;
      continue;
    }
    if (!S_ISDIR(st.st_mode) || st.st_dev != dir_st.st_dev) continue;
    int child = openat(fd, e.name.c_str(), kDirFlags);
    if (child < 0) {
      if (errno == ENOENT) continue;
      return Status::FromErrno("open", child_path);
    }
    s = ConvertDir(child, st, child_path, converted);
    close(child);
    if (!s.ok()) return s;
  }
  return changed ? RestoreTimes(fd, dir_st, path) : Status::Ok();
}

}  // namespace

bool IsExcludedFromDiff(const std::string& name, int depth) {
  return depth == 1 && name.compare(0, sizeof(kMetaPrefix) - 1, kMetaPrefix) == 0 &&
         name != kOpaqueMarker;
}

Status OrderAsAufs(int fd, const std::string& dir, std::vector<DirEntry>* entries) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < entries->size(); ++i) {
    const DirEntry& e = (*entries)[i];
    if (e.type != DT_CHR && e.type != DT_UNKNOWN) continue;
    struct stat st;
    if (fstatat(fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // the walk skips it too
      return Status::FromErrno("lstat", JoinPath(dir, e.name));
    }
    if (!IsOverlayWhiteout(st) || !HasAufsForm(e.name)) continue;
    if (keys.empty()) {
      for (const DirEntry& other : *entries) keys.push_back(other.name);
    }
    keys[i] = kWhiteoutPrefix + e.name + '\0';
  }
  if (keys.empty()) return Status::Ok();
  std::vector<size_t> order(entries->size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<DirEntry> sorted;
  sorted.reserve(order.size());
  for (size_t i : order) sorted.push_back(std::move((*entries)[i]));
  entries->swap(sorted);
  return Status::Ok();
}

bool IsOverlayWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool HasAufsForm(const std::string& name) { return strlen(kWhiteoutPrefix) + name.size() <= NAME_MAX; }

bool IsOverlayXattr(const std::string& name) {
  for (const char* prefix : {"trusted.overlay.", "user.overlay.", "user.fuseoverlayfs."}) {
    if (name.compare(0, strlen(prefix), prefix) == 0) return true;
  }
  return false;
}

bool HasOpaqueXattr(int fd) {
  // One flistxattr answers for the common directory without any attribute,
  // where asking for each name would take a syscall per name.
  char names[1024];
  ssize_t length = RetryOnEintr([&] { return flistxattr(fd, names, sizeof(names)); });
  if (length == 0) return false;
  const bool listed = length > 0;
  for (const char* attr : kOpaqueXattrs) {
    if (listed && memmem(names, static_cast<size_t>(length), attr, strlen(attr) + 1) == nullptr) continue;
    char value[2];
    ssize_t n = RetryOnEintr([&] { return fgetxattr(fd, attr, value, sizeof(value)); });
    if (n == 1 && value[0] == 'y') return true;
  }
  return false;
}

Status ConvertOverlayWhiteouts(const std::string& dir, uint64_t* converted) {
  *converted = 0;
  int fd = OpenLayerRoot(dir);
  if (fd < 0) return Status::FromErrno("open", dir);
  struct stat st;
  Status s = fstat(fd, &st) == 0 ? ConvertDir(fd, st, dir, converted)
                                 : Status::FromErrno("fstat", dir);
  close(fd);
  return s;
}

}  // namespace aufs
