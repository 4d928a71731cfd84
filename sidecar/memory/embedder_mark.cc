#include "sidecar/memory/embedder_mark.h"

namespace agentry::memory {

Status check_embedder_mark(const std::string& recorded, bool has_entries, const EmbedderMark& want,
                           const std::string& where) {
  if (want.id.empty() || recorded == want.id) return ok_status();
  const std::string what = "memory.embedder: the memory in " + where;
  const std::string fix =
      "; vectors of two embedders cannot be compared. Nothing was changed: set memory.embedder "
      "back to what wrote it, or give the agent a new name (or empty its memory) to start over";
  if (!recorded.empty())
    return {Code::kConflict,
            what + " was written by '" + recorded + "', this sidecar embeds with '" + want.id +
                "'" + fix,
            409};
  if (!has_entries || want.adopt_unmarked) return ok_status();
  return {Code::kConflict,
          what +
              " was written before stores recorded their embedder (then: the lexical embedder, "
              "unless memory.embedder was provider), this sidecar embeds with '" +
              want.id + "'" + fix + " (memory.embedder: lexical keeps it and marks it as lexical)",
          409};
}

}  // namespace agentry::memory
