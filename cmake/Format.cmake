# `format` rewrites the C++ sources with the committed .clang-format; `format-check` changes
# nothing and fails naming the files that differ (scripts/test.sh runs it).
add_custom_target(format COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/format.sh
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} VERBATIM)
add_custom_target(format-check COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/format.sh --check
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} VERBATIM)
