// A layer extracted from any bytes, then walked by everything that walks a
// layer: diffSize, changes against a parent, the diff reader, the whiteout
// conversion, removal. Nothing may land outside the layer, and every
// descriptor opened is closed again.
#include <fuzzer/FuzzedDataProvider.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../byte_buffer.h"
#include "../changes.h"
#include "../diff_reader.h"
#include "../extract.h"
#include "../size.h"
#include "../tar_reader.h"
#include "../tree.h"
#include "../whiteouts.h"
#include "fuzz_check.h"

namespace {

// SANDBOX/parent: a layer below the one extracted, with a whiteout and an
// opaque directory; SANDBOX/outside, which must stay empty.
struct Scene {
  std::string box = aufs_fuzz::Sandbox();
  std::string parent = box + "/parent";
  std::string outside = box + "/outside";
  std::string layer = box + "/layer";

  Scene() {
    for (const std::string& dir : {parent, outside, parent + "/dir", parent + "/opq"}) {
      FUZZ_CHECK(mkdir(dir.c_str(), 0755) == 0);
    }
    for (const std::string& file : {parent + "/file", parent + "/dir/file", parent + "/.wh.gone", parent + "/opq/.wh..wh..opq"}) {
      FUZZ_CHECK(close(open(file.c_str(), O_CREAT | O_WRONLY, 0644)) == 0);
    }
    FUZZ_CHECK(mknod((parent + "/dir/overlay-whiteout").c_str(), S_IFCHR | 0600, makedev(0, 0)) == 0);
  }
};

// Takes any entries: the archive only has to be well-formed.
class AnySink final : public aufs::TarSink {
 public:
  aufs::Status OnEntry(const aufs::TarEntry&) override { return aufs::Status::Ok(); }
  aufs::Status OnData(const uint8_t*, size_t) override { return aufs::Status::Ok(); }
  aufs::Status OnEntryEnd() override { return aufs::Status::Ok(); }
};

// Feeds a batch to `tar` with its big files' contents in their places, and
// closes those files. False when the reader refused the bytes.
bool FeedBatch(aufs::DiffBatch* batch, aufs::TarReader* tar) {
  const size_t size = batch->tar.size();
  uint8_t* bytes = batch->tar.Release();
  bool ok = true;
  size_t at = 0;
  for (const aufs::DiffFile& file : batch->files) {
    ok = ok && tar->Feed(bytes + at, file.offset - at).ok();
    std::vector<uint8_t> contents(file.size);
    ok = ok && pread(file.fd, contents.data(), contents.size(), 0) == static_cast<ssize_t>(file.size);
    ok = ok && tar->Feed(contents.data(), contents.size()).ok();
    close(file.fd);
    at = file.offset;
  }
  ok = ok && tar->Feed(bytes + at, size - at).ok();
  free(bytes);
  return ok;
}

void WalkEverything(const Scene& scene) {
  uint64_t size = 0;
  aufs::Status s = aufs::TreeSize(scene.layer, nullptr, &size);
  FUZZ_CHECK(s.ok());
  std::string changes;
  FUZZ_CHECK(aufs::LayerChanges(scene.layer, {scene.parent}, nullptr, &changes).ok());
  // The layer's tar, whatever the layer holds, is one our reader takes whole.
  aufs::DiffReader reader(scene.layer);
  FUZZ_CHECK(reader.Open().ok());
  AnySink sink;
  aufs::TarReader tar(&sink);
  for (uint64_t ticket = 0;; ++ticket) {
    aufs::DiffBatch batch;
    s = reader.NextBatch(ticket, &batch);
    // A file the extraction left unreadable (mode 0, but we are root) or a
    // name too long to reopen may fail the archive; nothing may crash.
    if (!s.ok()) break;
    if (batch.done) {
      FUZZ_CHECK(tar.End().ok());
      break;
    }
    FUZZ_CHECK(FeedBatch(&batch, &tar));
  }
  uint64_t converted = 0;
  FUZZ_CHECK(aufs::ConvertOverlayWhiteouts(scene.layer, &converted).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Scene scene;
  const int fds = aufs_fuzz::OpenDescriptors();
  FuzzedDataProvider input(data, size);
  const aufs::ResolveMode mode = input.ConsumeBool() ? aufs::ResolveMode::kOpenat2 : aufs::ResolveMode::kComponents;
  // One chunk size per input: the tar reader's own target tries every split.
  const size_t chunk_size = input.ConsumeIntegralInRange<size_t>(64, 16384);
  FUZZ_CHECK(mkdir(scene.layer.c_str(), 0755) == 0);
  {
    aufs::LayerExtractor extractor(scene.layer, {mode, nullptr});
    aufs::Status s;
    while (s.ok() && input.remaining_bytes() > 0) {
      std::vector<uint8_t> chunk = input.ConsumeBytes<uint8_t>(chunk_size);
      s = extractor.Write(chunk.data(), chunk.size());
    }
    uint64_t layer_size = 0;
    if (s.ok()) s = extractor.Finish(&layer_size);
    FUZZ_CHECK(s.ok() || !s.code.empty() || s.errnum != 0);
  }
  WalkEverything(scene);
  FUZZ_CHECK(aufs::RemoveTree(scene.layer).ok());
  FUZZ_CHECK(aufs_fuzz::EntryCount(scene.outside) == 0);
  FUZZ_CHECK(aufs_fuzz::EntryCount(scene.box) == 2);
  FUZZ_CHECK(aufs_fuzz::OpenDescriptors() == fds);
  return 0;
}
