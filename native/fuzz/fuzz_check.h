// What the fuzz targets share: a check that aborts (libFuzzer reports the
// input), and a scratch directory per process, made once.
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#define FUZZ_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                    \
    }                                                                             \
  } while (0)

namespace aufs_fuzz {

// A fresh directory under $TMPDIR (scripts/fuzz.sh points it at a nodev tmpfs).
inline const std::string& Sandbox() {
  static const std::string dir = [] {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/aufs-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    return pattern;
  }();
  return dir;
}

// Entries in the directory `path`, "." and ".." left out.
inline int EntryCount(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  FUZZ_CHECK(dir != nullptr);
  int count = 0;
  while (const dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") ++count;
  }
  closedir(dir);
  return count;
}

// Open descriptors of this process: what a target must leave as it found.
inline int OpenDescriptors() { return EntryCount("/proc/self/fd") - 1; }  // less opendir's own

}  // namespace aufs_fuzz
