#include "resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "layer_root.h"
#include "tar_reader.h"

namespace aufs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr mode_t kMadeDirMode = 0755;

// Set once a kernel answered ENOSYS: no point asking it again.
std::atomic<bool> openat2_missing{false};

Status Breakout(const std::string& rel, const char* reason) {
  // `path` holds the component; the extractor words the message around it.
  Status s = Status::Custom(kTarBreakout, reason);
  s.path = rel;
  return s;
}

}  // namespace

Status LayerRoot::Open(const std::string& dir, ResolveMode mode) {
  Close();
  fd_ = OpenLayerRoot(dir);
  if (fd_ < 0) return Status::FromErrno("open", dir);
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    Status s = Status::FromErrno("fstat", dir);
    Close();
    return s;
  }
  dev_ = st.st_dev;
  mode_ = mode;
  return Status::Ok();
}

void LayerRoot::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Status LayerRoot::OpenDir(const std::string& rel, bool create, int* out) const {
  if (mode_ == ResolveMode::kOpenat2 && !openat2_missing.load(std::memory_order_relaxed)) {
    struct open_how how = {};
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    const long fd = syscall(SYS_openat2, fd_, rel.empty() ? "." : rel.c_str(), &how, sizeof(how));
    if (fd >= 0) {
      *out = static_cast<int>(fd);
      return Status::Ok();
    }
    if (errno == EXDEV) return Breakout(rel, "leaves the layer's filesystem");
    if (errno == ENOSYS) openat2_missing.store(true, std::memory_order_relaxed);
    // Anything else (a directory to make, a symlink or a non-directory on the
    // way, EAGAIN from a concurrent rename) is for the component walk to make
    // or to name precisely.
  }
  return WalkComponents(rel, create, out);
}

Status LayerRoot::WalkComponents(const std::string& rel, bool create, int* out) const {
  int fd = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("fcntl", "");
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    int child;
    Status s = OpenChild(fd, rel.substr(start, end - start), rel.substr(0, end), create, &child);
    close(fd);
    if (!s.ok()) return s;
    fd = child;
    start = end + 1;
  }
  *out = fd;
  return Status::Ok();
}

Status LayerRoot::OpenChild(int dirfd, const std::string& name, const std::string& rel,
                            bool create, int* out) const {
  bool made = false;
  int fd = openat(dirfd, name.c_str(), kDirFlags);
  if (fd < 0 && errno == ENOENT && create) {
    made = mkdirat(dirfd, name.c_str(), kMadeDirMode) == 0;
    if (!made && errno != EEXIST) return Status::FromErrno("mkdir", rel);
    fd = openat(dirfd, name.c_str(), kDirFlags);
  }
  if (fd < 0) {
    const int err = errno;
    struct stat st;
    // O_NOFOLLOW | O_DIRECTORY refuses a symlink with ELOOP or ENOTDIR.
    if ((err == ELOOP || err == ENOTDIR) &&
        fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      return Breakout(rel, "is a symlink");
    }
    return Status::Sys(err, "open", rel);
  }
  struct stat st;
  Status s;
  if (fstat(fd, &st) != 0) {
    s = Status::FromErrno("fstat", rel);
  } else if (st.st_dev != dev_) {
    s = Breakout(rel, "is on another filesystem than the layer");
  } else if (made && fchmod(fd, kMadeDirMode) != 0) {
    // Explicit: the process umask must not decide the mode.
    s = Status::FromErrno("chmod", rel);
  }
  if (!s.ok()) {
    close(fd);
    return s;
  }
  *out = fd;
  return Status::Ok();
}

}  // namespace aufs
