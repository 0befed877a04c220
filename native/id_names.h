// User and group names of numeric ids, from the host's databases
// (getpwuid_r/getgrgid_r: /etc/passwd, /etc/group and whatever NSS adds), as
// Go's os/user gives them to archive/tar's FileInfoHeader: empty for an id
// the databases do not name.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace aufs {

// Looks each id up once: an archive of 100k files owned by a few ids makes a
// few lookups (each reads /etc/passwd or /etc/group through NSS). Any thread.
class IdNames {
 public:
  std::string User(uid_t uid);
  std::string Group(gid_t gid);

 private:
  std::string Cached(std::unordered_map<uint32_t, std::string>* names, uint32_t id,
                     std::string (*look_up)(uint32_t));

  std::mutex mutex_;
  std::unordered_map<uint32_t, std::string> users_;
  std::unordered_map<uint32_t, std::string> groups_;
};

}  // namespace aufs
