// Reads the entry names of an open directory, without "." and "..".
#pragma once

#include <dirent.h>

#include <string>
#include <vector>

#include "status.h"

namespace aufs {

struct DirEntry {
  std::string name;
  unsigned char type;  // DT_* from getdents; DT_UNKNOWN means lstat to know
};

// Reads all entries of the directory open at `fd` from its offset, which is
// its start for a descriptor just opened: callers read each descriptor once,
// and a walk saves an lseek per directory. The descriptor stays open and owned
// by the caller. A directory removed while open reads as empty. `path` is only
// used in errors.
Status ReadDirEntries(int fd, const std::string& path, std::vector<DirEntry>* out);

}  // namespace aufs
