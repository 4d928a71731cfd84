// Which embedder made a store's vectors. Vectors of two models live in unrelated spaces (both
// MiniLM and the lexical hash make 384 numbers, and a cosine between them means nothing), so each
// store records the embedder that wrote it, and a sidecar configured with another one refuses to
// open it, without writing anything. Pure logic: the backends read and write the mark
// (LogStore: the file `embedder` in its folder; RedisBackend: the key <prefix>embedder).
//
//   EmbedderMark m{"all-MiniLM-L6-v2/384", false};
//   Status s = check_embedder_mark(recorded, has_entries, m, "memory.dir /var/lib/agentry/memory");
//   if (s && recorded.empty()) write the mark;
#pragma once

#include <string>

#include "common/result.h"

namespace agentry::memory {

struct EmbedderMark {
  std::string id;  // "<embedder name>/<dimension>"; "" : no check (tests of a backend alone)
  // Whether entries written before marks existed (no mark, but data) are taken as this embedder's.
  // True for the lexical and provider embedders (the only ones there were then); false for MiniLM.
  bool adopt_unmarked = false;
};

// ok when a store that records `recorded` ("" : nothing) and holds entries or not may be opened
// with `want`; else kConflict naming memory.embedder, both embedders, `where` the data
// is, and what to do.
Status check_embedder_mark(const std::string& recorded, bool has_entries, const EmbedderMark& want,
                           const std::string& where);

}  // namespace agentry::memory
