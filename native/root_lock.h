// One owner per root: an exclusive flock(2) on ROOT/.lock for as long as a
// Driver lives. The kernel drops it with the last descriptor, so a process
// that dies never leaves its root locked; O_CLOEXEC keeps it out of the mount
// programs the driver starts, which outlive it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "status.h"

namespace aufs {

struct RootLock {
  int fd = -1;              // holds the lock (the caller's to close), or -1 when another does
  int64_t holder_pid = 0;   // the holder's pid when another holds it, 0 when it cannot be known
  std::string holder_owner;  // what the holder said it is, "" when it said nothing
};

// Takes the lock on `lock_file` (made mode 0600 if missing, never through a
// symlink) without waiting, and records `pid` and `owner` in it for whoever
// finds it taken; on a read-only filesystem an existing file is locked as it
// is (EROFS when there is none). When another open file description holds
// it, `lock->fd` is -1 and the holder fields say who does.
Status LockRoot(const std::string& lock_file, int64_t pid, const std::string& owner, RootLock* lock);

// The pid /proc/locks gives for the flock(2) lock on the inode `dev`:`ino`,
// or 0 when none is listed. `proc_locks` is that file's text.
int64_t FlockHolderPid(const std::string& proc_locks, dev_t dev, ino_t ino);

}  // namespace aufs
