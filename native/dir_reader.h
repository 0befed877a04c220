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

// Reads all entries of the directory open at `fd`, from its start (the
// descriptor stays open and owned by the caller; its offset moves to the end).
// A directory removed while open reads as empty. `path` is only used in errors.
Status ReadDirEntries(int fd, const std::string& path, std::vector<DirEntry>* out);

}  // namespace aufs
