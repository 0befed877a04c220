#include "id_names.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <vector>

namespace aufs {
namespace {

// Calls a get*id_r function with a buffer that grows until the entry fits.
template <typename Entry, typename Id, typename Lookup, typename Name>
std::string LookUp(Id id, Lookup lookup, Name name) {
  std::vector<char> buffer(1024);
  for (;;) {
    Entry entry;
    Entry* found = nullptr;
    const int err = lookup(id, &entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    return err == 0 && found != nullptr ? std::string(name(*found)) : std::string();
  }
}

}  // namespace

std::string IdNames::User(uid_t uid) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = users_.find(uid);
  if (it == users_.end()) {
    it = users_.emplace(uid, LookUp<passwd>(uid, getpwuid_r, [](const passwd& p) { return p.pw_name; })).first;
  }
  return it->second;
}

std::string IdNames::Group(gid_t gid) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = groups_.find(gid);
  if (it == groups_.end()) {
    it = groups_.emplace(gid, LookUp<group>(gid, getgrgid_r, [](const group& g) { return g.gr_name; })).first;
  }
  return it->second;
}

}  // namespace aufs
