# The worker against the emulators (issue 4). Included from tests/CMakeLists.txt after aws.cmake.
add_executable(worker_peer_tests ${CMAKE_CURRENT_LIST_DIR}/integration/worker/worker_peer_test.cpp)
target_include_directories(worker_peer_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/integration/aws ${CMAKE_CURRENT_LIST_DIR}/unit)
target_link_libraries(worker_peer_tests PRIVATE mailtrack_app mailtrack_testsupport mailtrack_aws_test_support
  GTest::gtest_main mailtrack_warnings)
add_test(NAME worker.peers
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --fauxqs --moto -- $<TARGET_FILE:worker_peer_tests>)
set_tests_properties(worker.peers PROPERTIES LABELS integration TIMEOUT 180)

add_executable(event_stream_tool ${CMAKE_CURRENT_LIST_DIR}/integration/worker/event_stream_tool.cpp)
target_link_libraries(event_stream_tool PRIVATE mailtrack_testsupport nlohmann_json::nlohmann_json)

add_test(NAME worker.processes
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --fauxqs --
          ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/integration/worker/worker_process_test.py
          --binary $<TARGET_FILE:mailtrack> --event-tool $<TARGET_FILE:event_stream_tool>)
set_tests_properties(worker.processes PROPERTIES LABELS integration TIMEOUT 480)
