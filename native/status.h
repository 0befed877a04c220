// The outcome of a system call sequence in the Node-free core: success, or the
// errno of the call that failed with that call's name and path, so the binding
// can build an error shaped like Node's fs errors.
#pragma once

#include <string>

namespace aufs {

struct Status {
  int errnum = 0;        // positive errno of the failed call; 0 when ok
  std::string code;      // set instead of errnum for failures that are not syscalls
  std::string message;   // explanation for `code` failures
  std::string syscall;
  std::string path;
  std::string dest;

  bool ok() const { return errnum == 0 && code.empty(); }

  static Status Ok() { return Status(); }
  // Captures the current errno.
  static Status FromErrno(const char* syscall, const std::string& path,
                          const std::string& dest = std::string());
  static Status Sys(int errnum, const char* syscall, const std::string& path,
                    const std::string& dest = std::string());
  static Status Custom(const std::string& code, const std::string& message,
                       const std::string& path = std::string());
};

// Joins a directory path and an entry name for error messages.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace aufs
