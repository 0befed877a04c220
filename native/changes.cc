#include "changes.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <numeric>
#include <utility>

#include "parent_view.h"
#include "walk.h"
#include "whiteouts.h"

namespace aufs {
namespace {

const size_t kWhiteoutPrefixLength = std::strlen(kWhiteoutPrefix);

// GNU tar and Go's tar writer keep whole seconds only, so a time without
// nanoseconds matches any time in its second (moby's sameFsTime).
bool SameFsTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && (a.tv_nsec == b.tv_nsec || a.tv_nsec == 0 || b.tv_nsec == 0);
}

// A directory that the parents hold alike is no change by itself, though
// its entries may be.
bool SameDir(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mode == b.st_mode && SameFsTime(a.st_mtim, b.st_mtim);
}

// ".wh.X" whites out X; ".wh." alone names nothing and is an ordinary file.
bool IsWhiteout(const std::string& name) {
  return name.size() > kWhiteoutPrefixLength &&
         name.compare(0, kWhiteoutPrefixLength, kWhiteoutPrefix) == 0;
}

// The walk of a layer, or of a subtree of it handed to another thread: each
// lists the changes of its part, and the parts are put together in walk order.
class ChangesWalk {
 public:
  // `base_depth`: the depth of the directory walked below, 0 for the root.
  ChangesWalk(const std::string& root, SubtreePool* pool, const std::atomic<bool>* cancelled,
              int base_depth)
      : root_(root), base_depth_(base_depth) {
    options_.cancelled = cancelled;
    // Only directories (compared with the parents') and character devices
    // (maybe whiteouts) need more than their type.
    options_.skip_lstat = 1u << DT_REG | 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_BLK;
    options_.enter_dir = [this](int fd, const std::string& path, std::vector<DirEntry>* entries) {
      return EnterDir(fd, path, entries);
    };
    options_.pool = pool;
    options_.subtree = [this](UniqueFd fd, const WalkEntry& dir) { return HandOff(std::move(fd), dir); };
  }

  Status Run(const std::vector<std::string>& parents) {
    next_.reported = true;  // the root is never listed
    Status s = ParentDir::OpenRoot(parents, &next_.parents);
    if (s.ok()) s = WalkTree(root_, visit_, options_);
    if (s.ok()) LeaveDirsBelow(0);
    return s;
  }

  // Appends this part's changes, and those of the subtrees it handed over.
  void AppendTo(std::string* encoded) const {
    size_t from = 0;
    for (const auto& [at, part] : handed_) {
      encoded->append(out_, from, at - from);
      part->AppendTo(encoded);
      from = at;
    }
    encoded->append(out_, from, std::string::npos);
  }

 private:
  // The directory `dir` the walk was about to enter, with its state in next_,
  // becomes a part of its own, walked by a pool thread.
  SubtreePool::Task HandOff(UniqueFd fd, const WalkEntry& dir) {
    auto part = std::make_unique<ChangesWalk>(root_, options_.pool, options_.cancelled, dir.depth);
    part->next_ = std::move(next_);
    ChangesWalk* walk = part.get();
    handed_.emplace_back(out_.size(), std::move(part));
    auto handed = std::make_shared<UniqueFd>(std::move(fd));
    return [walk, handed, dir] {
      Status s = WalkSubtree(walk->root_, std::move(*handed), dir, walk->visit_, walk->options_);
      if (s.ok()) walk->LeaveDirsBelow(0);
      return s;
    };
  }

  struct Dir {
    std::string path;           // "/a/b"; "" for the root
    bool reported = false;      // listed, as a change or as the parent of one
    bool opaque_xattr = false;  // overlay-opaque, its .wh..wh..opq not yet met
    ParentDir parents;          // the same directory in the parents' union
  };

  Status EnterDir(int fd, const std::string& path, std::vector<DirEntry>* entries) {
    Status s = OrderAsAufs(fd, JoinPath(root_, path), entries);
    if (!s.ok()) return s;
    // The overlay form of an opaque marker: met where .wh..wh..opq would sort.
    next_.opaque_xattr = HasOpaqueXattr(fd);
    next_.parents.ExpectLookups(entries->size());
    dirs_.push_back(std::move(next_));
    return Status::Ok();
  }

  Status Visit(const WalkEntry& e, Descend* descend) {
    LeaveDirsBelow(static_cast<size_t>(e.depth - base_depth_));
    Dir& dir = dirs_.back();
    std::string aufs_form;
    const std::string& name =
        IsOverlayWhiteout(e.st) ? (aufs_form = kWhiteoutPrefix + e.name) : e.name;
    if (dir.opaque_xattr && name >= kOpaqueMarker) MeetOpaqueMarker(dir);
    const bool excluded = IsExcludedFromDiff(name, e.depth);
    if (!excluded && name != kOpaqueMarker && !IsWhiteout(name)) return VisitFile(dir, e);
    // aufs's own names and whiteouts are never entered: nothing below them
    // belongs to the layer's tree.
    *descend = Descend::kNo;
    if (name == kOpaqueMarker) {
      MeetOpaqueMarker(dir);
    } else if (!excluded) {
      Add(dir, ChangeKind::kDelete, name.substr(kWhiteoutPrefixLength));
    }
    return Status::Ok();
  }

  Status VisitFile(Dir& dir, const WalkEntry& e) {
    const bool is_dir = S_ISDIR(e.st.st_mode);
    ParentEntry parent;
    Status s = dir.parents.Lookup(e.name, &parent, is_dir ? &next_.parents : nullptr);
    if (!s.ok()) return s;
    if (is_dir) {
      next_.path = dir.path + "/" + e.name;
      next_.reported = !(parent.is_dir && SameDir(e.st, parent.st));
      if (!next_.reported) return Status::Ok();
    }
    Add(dir, parent.present ? ChangeKind::kModify : ChangeKind::kAdd, e.name);
    return Status::Ok();
  }

  // Entries at `depth` (counted from base_depth_) belong to dirs_[depth - 1]:
  // leaves every deeper one.
  void LeaveDirsBelow(size_t depth) {
    while (dirs_.size() > depth) {
      if (dirs_.back().opaque_xattr) MeetOpaqueMarker(dirs_.back());
      dirs_.pop_back();
    }
  }

  // An opaque marker lists its directory, as the deletion it stands for would.
  void MeetOpaqueMarker(Dir& dir) {
    dir.opaque_xattr = false;
    Report(dir);
  }

  // An addition or deletion lists its directory first unless already listed
  // (moby's fix for moby#13590: the directory's metadata travels with it).
  void Add(Dir& dir, ChangeKind kind, const std::string& name) {
    if (kind != ChangeKind::kModify) Report(dir);
    Emit(kind, dir.path, &name);
  }

  void Report(Dir& dir) {
    if (dir.reported) return;
    dir.reported = true;
    Emit(ChangeKind::kModify, dir.path, nullptr);
  }

  // One record: the kind's byte, the path `dir`/`name` (or `dir` itself), NUL.
  void Emit(ChangeKind kind, const std::string& dir, const std::string* name) {
    out_.push_back(static_cast<char>('0' + static_cast<char>(kind)));
    out_.append(dir);
    if (name != nullptr) out_.append(1, '/').append(*name);
    out_.push_back('\0');
  }

  const std::string& root_;
  const int base_depth_;
  WalkOptions options_;
  const WalkVisitor visit_ = [this](const WalkEntry& e, Descend* descend) { return Visit(e, descend); };
  std::string out_;
  // Parts handed to the pool, each with where its changes go in out_.
  std::vector<std::pair<size_t, std::unique_ptr<ChangesWalk>>> handed_;
  std::vector<Dir> dirs_;  // from the walk's first directory down to the one being walked
  Dir next_;               // the directory the walk enters next, if it does
};

}  // namespace

Status LayerChanges(const std::string& root, const std::vector<std::string>& parents,
                    const std::atomic<bool>* cancelled, std::string* encoded) {
  SubtreePool pool(SubtreePool::DefaultHelpers());
  ChangesWalk walk(root, &pool, cancelled, 0);
  Status s = walk.Run(parents);
  Status parts = pool.Wait();
  if (s.ok()) s = parts;
  if (s.ok()) walk.AppendTo(encoded);
  return s;
}

}  // namespace aufs
