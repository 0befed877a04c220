#include "mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>

namespace aufs {

Status Mount(const std::string& source, const std::string& target,
             const std::string& fstype, unsigned long flags,
             const std::string& data) {
  const char* data_arg = data.empty() ? nullptr : data.c_str();
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data_arg) != 0) {
    return Status::FromErrno("mount", target);
  }
  return Status::Ok();
}

Status Umount2(const std::string& target, int flags) {
  if (umount2(target.c_str(), flags) != 0) {
    return Status::FromErrno("umount2", target);
  }
  return Status::Ok();
}

Status StatfsType(const std::string& path, int64_t* type) {
  struct statfs buf;
  if (statfs(path.c_str(), &buf) != 0) return Status::FromErrno("statfs", path);
  *type = static_cast<int64_t>(static_cast<uint32_t>(buf.f_type));
  return Status::Ok();
}

Status MountType(const std::string& path, int64_t* type) {
  struct stat self, parent;
  if (lstat(path.c_str(), &self) != 0) {
    if (errno == ENOTCONN) {
      *type = kFuseSuperMagic;
      return Status::Ok();
    }
    return Status::FromErrno("lstat", path);
  }
  const std::string parent_path = path + "/..";
  if (lstat(parent_path.c_str(), &parent) != 0) {
    return Status::FromErrno("lstat", parent_path);
  }
  if (!S_ISDIR(self.st_mode) || self.st_dev == parent.st_dev) {
    *type = 0;
    return Status::Ok();
  }
  return StatfsType(path, type);
}

}  // namespace aufs
