// A file compiled into the binary (cmake/EmbedFiles.cmake): the console's web assets and agent
// templates, so the binary needs nothing beside it at run time. The bytes live in static storage
// for the whole run; views of them never dangle.
#pragma once

#include <span>
#include <string_view>

namespace agentry {

struct EmbeddedFile {
  std::string_view name;  // the path it had under its base folder, e.g. "ui/app.js"
  std::string_view data;
};

}  // namespace agentry
