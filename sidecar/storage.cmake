# Cache and memory (issue 6), linked into the sidecar library; included by sidecar/CMakeLists.txt.
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/cache ${CMAKE_BINARY_DIR}/sidecar-cache)
add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/memory ${CMAKE_BINARY_DIR}/sidecar-memory)
target_link_libraries(agentry_sidecar_lib PUBLIC agentry_cache agentry_memory)
