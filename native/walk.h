// Pre-order walk of a directory tree, entries of each directory in bytewise
// name order. Works on descriptors: no symlink is followed, no other mount is
// entered, and an entry that vanishes during the walk is skipped.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dir_reader.h"
#include "status.h"
#include "subtree_pool.h"
#include "unique_fd.h"

namespace aufs {

struct WalkEntry {
  int parent_fd;      // the directory holding the entry, open for *at() calls
  std::string name;   // the entry's name in that directory
  std::string path;   // relative to the walk's root: "a/b", no leading slash
  int depth;          // 1 for entries of the root directory
  struct stat st;     // lstat of the entry (see WalkOptions::skip_lstat)
};

// What to do after visiting a directory.
enum class Descend { kYes, kNo };

// Called for every entry; return a failed Status to stop the walk with it.
// `descend` is only read for directories and starts as kYes.
using WalkVisitor = std::function<Status(const WalkEntry& entry, Descend* descend)>;

// Called when the walk enters a directory (the root first, with path ""), with
// the directory open at `fd` and its entries in name order, before any of
// them is visited; the entries are then visited in the order it leaves them.
using EnterDirHook =
    std::function<Status(int fd, const std::string& path, std::vector<DirEntry>* entries)>;

struct WalkOptions {
  // Polled between entries; when set the walk stops with code ABORT_ERR.
  const std::atomic<bool>* cancelled = nullptr;
  EnterDirHook enter_dir;
  // Entry types the visitor needs no lstat of, as a mask of 1 << DT_*: such
  // an entry comes with a zeroed `st` but for the type bits of st_mode, and
  // is visited even if it vanished since its directory was read. Directories
  // and entries of unknown type are always lstat'ed.
  uint32_t skip_lstat = 0;
  // Whether each directory's entries come in bytewise name order: a visitor
  // that sums or counts saves a sort per directory.
  bool sorted = true;
  // While one of `pool`'s threads is idle, WalkTree and WalkSubtree hand it
  // the next directory they would enter, and go on past it: `subtree` makes
  // the task that walks the directory `dir`, open at `fd` (with WalkSubtree).
  // The visitor then runs on several threads at once.
  SubtreePool* pool = nullptr;
  std::function<SubtreePool::Task(UniqueFd fd, const WalkEntry& dir)> subtree;
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
  // Instead of Open(): starts at `dir`, an entry of another walk of the same
  // root, open at `fd`, and walks what is below it.
  Status OpenSubtree(UniqueFd fd, const WalkEntry& dir);
  // Moves to the next entry, entering the directory returned last unless
  // SkipChildren() was called for it. `*entry` stays valid until the next
  // call; it is nullptr once the walk is over.
  Status Next(const WalkEntry** entry);
  void SkipChildren() { descend_ = false; }
  // Whether the next Next() enters the directory returned last (false for
  // other mounts, non-directories and skipped directories).
  bool WillDescend() const { return descend_; }
  // Opens the directory returned last, as Next() would to enter it; `*fd` is
  // left invalid when it vanished or is no directory any more.
  Status OpenCurrent(UniqueFd* fd) const;

 private:
  struct Frame {
    int fd;
    std::string path;  // of the directory, relative to the root
    int depth;         // of its entries
    std::vector<DirEntry> entries;
    size_t next;
  };

  bool Cancelled() const;
  bool Lstat(int fd, const DirEntry& e, struct stat* st) const;
  Status Enter(int fd, std::string path, int depth);

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

// Walks below `dir`, open at `fd`, as the walk of `root` that met it would
// have: the part of a walk handed to a pool thread (WalkOptions::pool).
Status WalkSubtree(const std::string& root, UniqueFd fd, const WalkEntry& dir,
                   const WalkVisitor& visit, const WalkOptions& options);

// Status of a walk stopped by WalkOptions::cancelled.
Status AbortedStatus();

}  // namespace aufs
