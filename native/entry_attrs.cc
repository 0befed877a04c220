#include "entry_attrs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "whiteouts.h"

namespace aufs {
namespace {

using SetXattr = std::function<int(const std::string& name, const std::string& value)>;

// A filesystem without xattrs (ENOTSUP), or a namespace we may not write
// (EPERM: trusted.* unprivileged, user.* on a symlink), is not an error, as
// it was not for Docker. Overlay bookkeeping is dropped: aufs form has none.
Status SetXattrs(const TarEntry& entry, const SetXattr& set) {
  for (const auto& [name, value] : entry.xattrs) {
    if (IsOverlayXattr(name)) continue;
    if (set(name, value) != 0 && errno != ENOTSUP && errno != EPERM) {
      return Status::FromErrno("setxattr", "");
    }
  }
  return Status::Ok();
}

}  // namespace

Status SetTimesOnFd(int fd, const struct timespec& atime, const struct timespec& mtime) {
  const struct timespec times[2] = {atime, mtime};
  if (futimens(fd, times) != 0) return Status::FromErrno("utime", "");
  return Status::Ok();
}

Status SetAttrsOnFd(int fd, const TarEntry& entry, bool set_times) {
  if (fchown(fd, entry.uid, entry.gid) != 0) return Status::FromErrno("chown", "");
  if (fchmod(fd, entry.mode) != 0) return Status::FromErrno("chmod", "");
  Status s = SetXattrs(entry, [fd](const std::string& name, const std::string& value) {
    return fsetxattr(fd, name.c_str(), value.data(), value.size(), 0);
  });
  if (!s.ok() || !set_times) return s;
  return SetTimesOnFd(fd, entry.atime, entry.mtime);
}

Status SetAttrsAt(int dirfd, const std::string& name, const TarEntry& entry) {
  if (fchownat(dirfd, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno("lchown", "");
  }
  // Symlinks have no mode of their own on Linux. For the rest, glibc does
  // AT_SYMLINK_NOFOLLOW through an O_PATH descriptor of `name` itself.
  if (entry.type != EntryType::kSymlink &&
      fchmodat(dirfd, name.c_str(), entry.mode, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno("chmod", "");
  }
  // No l*xattr call takes a directory descriptor; the /proc link of `dirfd`
  // stands for the directory, and the l* calls do not follow `name`.
  const std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  Status s = SetXattrs(entry, [&path](const std::string& attr, const std::string& value) {
    return lsetxattr(path.c_str(), attr.c_str(), value.data(), value.size(), 0);
  });
  if (!s.ok()) return s;
  const struct timespec times[2] = {entry.atime, entry.mtime};
  if (utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno("utime", "");
  }
  return Status::Ok();
}

}  // namespace aufs
