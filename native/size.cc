#include "size.h"

#include <set>
#include <utility>

#include "walk.h"

namespace aufs {

Status TreeSize(const std::string& root, const std::atomic<bool>* cancelled, uint64_t* size) {
  *size = 0;
  std::set<std::pair<dev_t, ino_t>> linked;
  WalkOptions options;
  options.cancelled = cancelled;
  return WalkTree(
      root,
      [&](const WalkEntry& e, Descend*) {
        if (S_ISDIR(e.st.st_mode)) return Status::Ok();
        if (e.st.st_nlink > 1 && !linked.insert({e.st.st_dev, e.st.st_ino}).second) {
          return Status::Ok();
        }
        *size += static_cast<uint64_t>(e.st.st_size);
        return Status::Ok();
      },
      options);
}

}  // namespace aufs
