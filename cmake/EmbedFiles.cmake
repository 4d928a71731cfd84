# agentry_embed_files(TARGET SYMBOL BASE FILES...): adds a generated source to TARGET defining
# `std::span<const agentry::EmbeddedFile> SYMBOL()` (common/embedded_file.h) with the files' bytes,
# rebuilt when any of them changes.
function(agentry_embed_files target symbol base)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${symbol}.cc")
  set(deps "")
  foreach(f IN LISTS ARGN)
    list(APPEND deps "${base}/${f}")
  endforeach()
  list(JOIN ARGN "," files_arg)
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${out} -DSYMBOL=${symbol} -DBASE=${base}
            "-DFILES=${files_arg}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${deps} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
