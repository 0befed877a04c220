#include "layer_path.h"

#include <vector>

#include "tar_reader.h"

namespace aufs {

Status LayerPath(const std::string& name, const std::string& entry, std::string* rel) {
  // Every syscall would end the path at a NUL, after the ".." checks below:
  // the tar reader refuses such names, and so does this, whoever calls it.
  if (name.find('\0') != std::string::npos) return EntryError(kTarInvalid, entry, "NUL byte in a path");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string part = name.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return EntryError(kTarBreakout, entry, Quoted(name) + " climbs out of the layer");
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
    if (parts.size() > kMaxPathDepth) {
      return EntryError(kTarLimit, entry,
                        Quoted(name) + " is nested deeper than " + std::to_string(kMaxPathDepth) +
                            " directories");
    }
  }
  rel->clear();
  for (const std::string& part : parts) {
    if (!rel->empty()) rel->push_back('/');
    rel->append(part);
  }
  return Status::Ok();
}

void SplitLeaf(const std::string& rel, std::string* dir, std::string* leaf) {
  const size_t slash = rel.rfind('/');
  if (slash == std::string::npos) {
    dir->clear();
    *leaf = rel;
  } else {
    *dir = rel.substr(0, slash);
    *leaf = rel.substr(slash + 1);
  }
}

}  // namespace aufs
