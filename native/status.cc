#include "status.h"

#include <cerrno>

namespace aufs {

Status Status::FromErrno(const char* syscall, const std::string& path,
                         const std::string& dest) {
  return Sys(errno, syscall, path, dest);
}

Status Status::Sys(int errnum, const char* syscall, const std::string& path,
                   const std::string& dest) {
  Status s;
  s.errnum = errnum;
  s.syscall = syscall;
  s.path = path;
  s.dest = dest;
  return s;
}

Status Status::Custom(const std::string& code, const std::string& message,
                      const std::string& path) {
  Status s;
  s.code = code;
  s.message = message;
  s.path = path;
  return s;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace aufs
