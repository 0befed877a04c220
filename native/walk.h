// Pre-order walk of a directory tree, entries of each directory in bytewise
// name order. Works on descriptors: no symlink is followed, no other mount is
// entered, and an entry that vanishes during the walk is skipped.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "dir_reader.h"
#include "status.h"

namespace aufs {

struct WalkEntry {
  int parent_fd;      // the directory holding the entry, open for *at() calls
  std::string name;   // the entry's name in that directory
  std::string path;   // relative to the walk's root: "a/b", no leading slash
  int depth;          // 1 for entries of the root directory
  struct stat st;     // lstat of the entry
};

// What to do after visiting a directory.
enum class Descend { kYes, kNo };

// Called for every entry; return a failed Status to stop the walk with it.
// `descend` is only read for directories and starts as kYes.
using WalkVisitor = std::function<Status(const WalkEntry& entry, Descend* descend)>;

struct WalkOptions {
  // Polled between entries; when set the walk stops with code ABORT_ERR.
  const std::atomic<bool>* cancelled = nullptr;
  // The key an entry is ordered by among its siblings (bytewise); its name
  // when unset. Gets the directory's descriptor, to look at the entry.
  std::function<std::string(int dir_fd, const DirEntry& entry)> sort_key;
};

// The walk as a cursor, one entry per Next(), for callers that stop between
// entries and resume later: the directories on the way down stay open (and
// are closed by the destructor).
class TreeWalker {
 public:
  TreeWalker(std::string root, WalkOptions options);
  ~TreeWalker();
  TreeWalker(const TreeWalker&) = delete;
  TreeWalker& operator=(const TreeWalker&) = delete;

  // Opens the root (which is not itself an entry); call once, before Next().
  Status Open();
  // Moves to the next entry, entering the directory returned last unless
  // SkipChildren() was called for it. `*entry` stays valid until the next
  // call; it is nullptr once the walk is over.
  Status Next(const WalkEntry** entry);
  void SkipChildren() { descend_ = false; }
  // Whether the next Next() enters the directory returned last (false for
  // other mounts, non-directories and skipped directories).
  bool WillDescend() const { return descend_; }

 private:
  struct Frame {
    int fd;
    std::string path;  // of the directory, relative to the root
    int depth;         // of its entries
    std::vector<DirEntry> entries;
    size_t next;
  };

  bool Cancelled() const;
  Status Enter(int fd, std::string path, int depth);
  Status EnterCurrent();
  void Sort(int fd, std::vector<DirEntry>* entries) const;

  const std::string root_;
  const WalkOptions options_;
  dev_t dev_ = 0;
  std::vector<Frame> stack_;
  WalkEntry entry_{};
  bool descend_ = false;
};

// Walks below `root` (the root itself is not visited).
Status WalkTree(const std::string& root, const WalkVisitor& visit,
                const WalkOptions& options = WalkOptions());

// Status of a walk stopped by WalkOptions::cancelled.
Status AbortedStatus();

}  // namespace aufs
