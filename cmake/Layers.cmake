# Layering: every layer is one static library built by mailtrack_layer().
#
# A layer names the layers it may use (DEPS). Its public headers live in
# src/<dir>/include/mailtrack/<name>/ and reach only the targets that link it,
# so an include from a layer that is not a dependency does not compile.
# On top of that, configure time scans each layer's sources and fails if one
# includes "mailtrack/<x>/..." for an <x> that is neither itself nor one of its
# (transitive) dependencies. docs/ARCHITECTURE.md is the written form of this.

add_library(mailtrack_warnings INTERFACE)
target_compile_options(mailtrack_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
  # GCC 12 reports -Wrestrict on `"literal" + std::string&&` at -O3 although nothing overlaps
  # (GCC bug 105651, fixed in 13); it fires in libstdc++'s own headers.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)

# Warnings are errors where we build (the presets turn MAILTRACK_WERROR on), not for every
# consumer of the project, whose compiler may warn about things ours does not.
option(MAILTRACK_WERROR "Treat warnings in mailtrack's own code as errors" OFF)
if(MAILTRACK_WERROR)
  target_compile_options(mailtrack_warnings INTERFACE -Werror)
endif()

function(mailtrack_layer name)
  cmake_parse_arguments(L "" "DIR" "SOURCES;DEPS;PRIVATE_LIBS" ${ARGN})
  if(NOT L_DIR)
    set(L_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  add_library(mailtrack_${name} STATIC ${L_SOURCES})
  target_include_directories(mailtrack_${name} PUBLIC ${L_DIR}/include)
  target_link_libraries(mailtrack_${name} PRIVATE mailtrack_warnings ${L_PRIVATE_LIBS})
  set(allowed ${name})
  foreach(dep IN LISTS L_DEPS)
    target_link_libraries(mailtrack_${name} PUBLIC mailtrack_${dep})
    get_property(dep_allowed GLOBAL PROPERTY MAILTRACK_LAYER_ALLOWED_${dep})
    if(NOT DEFINED dep_allowed OR dep_allowed STREQUAL "")
      message(FATAL_ERROR "layer ${name}: dependency ${dep} is not defined before it")
    endif()
    list(APPEND allowed ${dep_allowed})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY MAILTRACK_LAYER_ALLOWED_${name} "${allowed}")

  file(GLOB_RECURSE layer_files CONFIGURE_DEPENDS ${L_DIR}/*.hpp ${L_DIR}/*.cpp)
  foreach(f IN LISTS layer_files)
    # A folder below with a CMakeLists.txt of its own is another layer (src/store/sqlite under
    # src/store), scanned by its own call.
    get_filename_component(d ${f} DIRECTORY)
    set(nested FALSE)
    while(NOT d STREQUAL L_DIR AND d MATCHES "^${L_DIR}/")
      if(EXISTS ${d}/CMakeLists.txt)
        set(nested TRUE)
      endif()
      get_filename_component(d ${d} DIRECTORY)
    endwhile()
    if(nested)
      continue()
    endif()
    file(STRINGS ${f} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"mailtrack/")
    foreach(inc IN LISTS includes)
      string(REGEX REPLACE ".*\"mailtrack/([a-z_]+)/.*" "\\1" used "${inc}")
      if(NOT used IN_LIST allowed)
        message(FATAL_ERROR "layering violation: ${f} (layer ${name}) includes mailtrack/${used}/, "
                            "but ${name} may only use: ${allowed} (see docs/ARCHITECTURE.md)")
      endif()
    endforeach()
  endforeach()
endfunction()
