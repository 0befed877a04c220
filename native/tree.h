// Whole-tree operations on layer directories, done with *at() calls on
// directory descriptors so that no symlink inside the tree is ever followed.
#pragma once

#include <string>

#include "status.h"

namespace aufs {

// Deletes `path` and everything below it, like `rm -rf --one-file-system`:
// symlinks are removed, never followed, and a directory that is the root of
// another mount is not entered (its rmdir reports EBUSY). ENOENT on `path`
// itself is returned to the caller, who usually treats it as done.
Status RemoveTree(const std::string& path);

// The same for the entry `name` of the directory open at `dirfd`; `path`
// names it in errors.
Status RemoveTreeAt(int dirfd, const std::string& name, const std::string& path);

}  // namespace aufs
