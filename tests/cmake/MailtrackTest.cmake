# mailtrack_test(): the one way a test is declared.
#
#   mailtrack_test(<layer>.<what>
#     LABEL unit|integration|e2e     # unit: no network, no server; integration: real servers and
#                                    # emulators on loopback; e2e: the binary driven as a user would
#     [SOURCES f.cpp ...]            # a GoogleTest binary `<layer>_<what>_test` built from these
#     [LIBS lib ...]                 # what it links (GoogleTest and the warnings come with it)
#     [INCLUDES dir ...]             # private include directories
#     [DEFINES X=1 ...]              # private compile definitions (MAILTRACK_TESTDATA comes with it)
#     [PEERS fauxqs moto ses mariadb redis]  # run under tests/support/peers.py, which starts these
#                                    # on free loopback ports around the run
#     [COMMAND arg ...]              # run this instead of the binary (a script test); with SOURCES,
#                                    # $<TARGET_FILE:...> of the binary can appear in it
#     [TIMEOUT seconds] [ENVIRONMENT K=V ...])
#
# Names: every test is `<layer>.<what>`; a GoogleTest binary run without peers is discovered
# case by case as `<layer>.<what>.<Suite>.<Case>`. Binaries land in <build>/tests/.
set(MAILTRACK_TEST_BIN_DIR ${CMAKE_BINARY_DIR}/tests)
set(MAILTRACK_PEERS ${PROJECT_SOURCE_DIR}/tests/support/peers.py)

function(mailtrack_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;LIBS;INCLUDES;DEFINES;PEERS;COMMAND;ENVIRONMENT" ${ARGN})
  if(NOT name MATCHES "^[a-z_0-9]+\\.[a-z_0-9.]+$")
    message(FATAL_ERROR "mailtrack_test: '${name}' is not <layer>.<what> in snake_case")
  endif()
  if(NOT T_LABEL MATCHES "^(unit|integration|e2e)$")
    message(FATAL_ERROR "mailtrack_test(${name}): LABEL must be unit, integration or e2e")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()

  set(command ${T_COMMAND})
  if(T_SOURCES)
    string(REPLACE "." "_" binary "${name}_test")
    add_executable(${binary} ${T_SOURCES})
    target_link_libraries(${binary} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main mailtrack_warnings)
    target_include_directories(${binary} PRIVATE ${T_INCLUDES})
    # Tests build requests and errors from partial aggregates ({kind}, {url, body}) on purpose.
    target_compile_options(${binary} PRIVATE -Wno-missing-field-initializers)
    target_compile_definitions(${binary} PRIVATE MAILTRACK_TESTDATA="${MAILTRACK_TESTDATA}" ${T_DEFINES})
    set_target_properties(${binary} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MAILTRACK_TEST_BIN_DIR})
    if(NOT command)
      set(command $<TARGET_FILE:${binary}>)
    endif()
    if(NOT T_PEERS AND NOT T_COMMAND)
      set(properties LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
      if(T_ENVIRONMENT)
        list(APPEND properties ENVIRONMENT "${T_ENVIRONMENT}")
      endif()
      gtest_discover_tests(${binary} TEST_PREFIX "${name}." DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
      return()
    endif()
  elseif(NOT command)
    message(FATAL_ERROR "mailtrack_test(${name}): needs SOURCES or COMMAND")
  endif()

  if(T_PEERS)
    set(peer_flags)
    foreach(p IN LISTS T_PEERS)
      list(APPEND peer_flags --${p})
    endforeach()
    set(command ${Python3_EXECUTABLE} ${MAILTRACK_PEERS} ${peer_flags} -- ${command})
  endif()
  add_test(NAME ${name} COMMAND ${command})
  set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(T_ENVIRONMENT)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
endfunction()

# mailtrack_test_tool(name SOURCES ... LIBS ...): a helper program that tests and benchmarks
# drive (an event stream generator, a send driver); lands in <build>/tests/ like the tests.
function(mailtrack_test_tool name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;INCLUDES" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} mailtrack_warnings)
  target_include_directories(${name} PRIVATE ${T_INCLUDES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MAILTRACK_TEST_BIN_DIR})
endfunction()
