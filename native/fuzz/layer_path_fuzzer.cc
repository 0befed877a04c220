// LayerPath and SplitLeaf on any name: a clean relative path inside the layer
// or a refusal, never anything that climbs out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../layer_path.h"
#include "../tar_reader.h"
#include "fuzz_check.h"

using aufs::LayerPath;
using aufs::SplitLeaf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name(reinterpret_cast<const char*>(data), size);
  std::string rel;
  aufs::Status s = LayerPath(name, name, &rel);
  if (!s.ok()) {
    FUZZ_CHECK(s.code == aufs::kTarBreakout || s.code == aufs::kTarLimit || s.code == aufs::kTarInvalid);
    return 0;
  }
  size_t depth = 0;
  for (size_t start = 0; start < rel.size(); ++depth) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    const std::string part = rel.substr(start, end - start);
    FUZZ_CHECK(!part.empty() && part != "." && part != "..");
    start = end + 1;
    FUZZ_CHECK(start <= rel.size() || end == rel.size());
  }
  FUZZ_CHECK(depth <= aufs::kMaxPathDepth);
  FUZZ_CHECK(rel.find('\0') == std::string::npos);
  FUZZ_CHECK(rel.empty() || rel.back() != '/');
  if (!rel.empty()) {
    std::string dir, leaf;
    SplitLeaf(rel, &dir, &leaf);
    FUZZ_CHECK(!leaf.empty() && leaf.find('/') == std::string::npos);
    FUZZ_CHECK((dir.empty() ? leaf : dir + "/" + leaf) == rel);
  }
  // A clean path is its own clean form.
  std::string again;
  FUZZ_CHECK(LayerPath(rel, rel, &again).ok() && again == rel);
  return 0;
}
