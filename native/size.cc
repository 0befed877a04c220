#include "size.h"

#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "subtree_pool.h"
#include "walk.h"

namespace aufs {
namespace {

// The tally of one TreeSize call, shared by the threads walking its subtrees.
class SizeWalk {
 public:
  SizeWalk(const std::string& root, const std::atomic<bool>* cancelled)
      : root_(root), pool_(SubtreePool::DefaultHelpers()) {
    options_.cancelled = cancelled;
    options_.sorted = false;
    options_.pool = &pool_;
    options_.subtree = [this](UniqueFd fd, const WalkEntry& dir) -> SubtreePool::Task {
      auto handed = std::make_shared<UniqueFd>(std::move(fd));
      return [this, handed, dir] { return WalkSubtree(root_, std::move(*handed), dir, visit_, options_); };
    };
  }

  Status Run(uint64_t* size) {
    Status s = WalkTree(root_, visit_, options_);
    Status rest = pool_.Wait();
    *size = size_;
    return s.ok() ? rest : s;
  }

 private:
  Status Visit(const WalkEntry& e) {
    if (S_ISDIR(e.st.st_mode)) return Status::Ok();
    if (e.st.st_nlink > 1) {
      std::lock_guard<std::mutex> lock(linked_mu_);
      if (!linked_.insert({e.st.st_dev, e.st.st_ino}).second) return Status::Ok();
    }
    size_ += static_cast<uint64_t>(e.st.st_size);
    return Status::Ok();
  }

  const std::string& root_;
  SubtreePool pool_;
  WalkOptions options_;
  const WalkVisitor visit_ = [this](const WalkEntry& e, Descend*) { return Visit(e); };
  std::atomic<uint64_t> size_{0};
  std::mutex linked_mu_;
  std::set<std::pair<dev_t, ino_t>> linked_;  // inodes with more links, counted once
};

}  // namespace

Status TreeSize(const std::string& root, const std::atomic<bool>* cancelled, uint64_t* size) {
  return SizeWalk(root, cancelled).Run(size);
}

}  // namespace aufs
