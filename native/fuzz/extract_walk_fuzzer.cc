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
#include <cstring>
#include <string>
#include <vector>

#include "../byte_buffer.h"
#include "../changes.h"
#include "../diff_reader.h"
#include "../extract.h"
#include "../size.h"
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

// Closes the descriptors a batch hands over (the record layout of diff_reader.h).
void CloseBatchFds(aufs::ByteBuffer* batch) {
  const size_t size = batch->size();
  uint8_t* bytes = batch->Release();
  for (size_t at = 0; at < size;) {
    FUZZ_CHECK(at + aufs::kDiffRecordHeaderSize <= size);
    int32_t fd;
    uint32_t lengths[4];
    memcpy(&fd, bytes + at + 24, sizeof(fd));
    memcpy(lengths, bytes + at + 28, sizeof(lengths));
    if (fd >= 0) close(fd);
    at += aufs::kDiffRecordHeaderSize + lengths[0] + lengths[1] + lengths[2] + lengths[3];
  }
  free(bytes);
}

void WalkEverything(const Scene& scene) {
  uint64_t size = 0;
  aufs::Status s = aufs::TreeSize(scene.layer, nullptr, &size);
  FUZZ_CHECK(s.ok());
  std::string changes;
  FUZZ_CHECK(aufs::LayerChanges(scene.layer, {scene.parent}, nullptr, &changes).ok());
  aufs::DiffReader reader(scene.layer);
  FUZZ_CHECK(reader.Open().ok());
  for (bool done = false; !done;) {
    aufs::ByteBuffer batch;
    s = reader.NextBatch(&batch, &done);
    // A file the extraction left unreadable (mode 0, but we are root) or a
    // name too long to reopen may fail the archive; nothing may crash.
    if (!s.ok()) break;
    CloseBatchFds(&batch);
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
