// Ownership, permission bits, extended attributes and times of an extracted
// entry, set in that order: chown clears setuid/setgid and capabilities, and
// anything after the times would change the ctime only.
#pragma once

#include <string>

#include "status.h"
#include "tar_reader.h"

namespace aufs {

// Through the entry's own descriptor: for files and directories. Directory
// times are left to the caller (`set_times` false), who sets them once the
// directory's contents are in.
Status SetAttrsOnFd(int fd, const TarEntry& entry, bool set_times);

// Through the directory `dirfd` holding `name`, never following `name`: for
// symlinks, devices and FIFOs, which must not be opened (opening a device
// may act on hardware, a FIFO blocks).
Status SetAttrsAt(int dirfd, const std::string& name, const TarEntry& entry);

// Sets atime and mtime of the file open at `fd`.
Status SetTimesOnFd(int fd, const struct timespec& atime, const struct timespec& mtime);

}  // namespace aufs
