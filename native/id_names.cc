#include "id_names.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <vector>

namespace aufs {
namespace {

// The name a get*id_r function gives `id`, with a buffer that grows until
// the entry fits; empty when there is none.
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

std::string UserName(uid_t uid) {
  return LookUp<passwd>(uid, getpwuid_r, [](const passwd& p) { return p.pw_name; });
}

std::string GroupName(gid_t gid) {
  return LookUp<group>(gid, getgrgid_r, [](const group& g) { return g.gr_name; });
}

}  // namespace

std::string IdNames::Cached(std::unordered_map<uint32_t, std::string>* names, uint32_t id,
                            std::string (*look_up)(uint32_t)) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = names->find(id);
  if (it == names->end()) it = names->emplace(id, look_up(id)).first;
  return it->second;
}

std::string IdNames::User(uid_t uid) { return Cached(&users_, uid, UserName); }

std::string IdNames::Group(gid_t gid) { return Cached(&groups_, gid, GroupName); }

}  // namespace aufs
