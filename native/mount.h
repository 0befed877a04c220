// mount(2), umount2(2) and statfs(2): the syscalls behind get(), put() and the
// "is it mounted?" question.
#pragma once

#include <cstdint>
#include <string>

#include "status.h"

namespace aufs {

constexpr int64_t kFuseSuperMagic = 0x65735546;

Status Mount(const std::string& source, const std::string& target,
             const std::string& fstype, unsigned long flags,
             const std::string& data);

Status Umount2(const std::string& target, int flags);

// f_type of the filesystem holding `path`.
Status StatfsType(const std::string& path, int64_t* type);

// f_type of the filesystem mounted at `path` when `path` is the root of a
// mount, 0 when it is a plain directory of its parent's filesystem. A FUSE
// mount whose server died answers ENOTCONN: that is still a mount to clean up.
Status MountType(const std::string& path, int64_t* type);

}  // namespace aufs
