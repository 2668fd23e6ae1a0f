# Redis beside the store (issue 6 §2). Included from tests/CMakeLists.txt after worker.cmake.
mailtrack_unit_test(redis_unit_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/redis/redis_unit_test.cpp LIBS mailtrack_app)

# The client, the GCRA limiter and RedisSharedStore against a real redis-server on loopback.
add_executable(redis_peer_tests ${CMAKE_CURRENT_LIST_DIR}/integration/redis/redis_peer_test.cpp)
target_include_directories(redis_peer_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/unit/store)
target_link_libraries(redis_peer_tests PRIVATE mailtrack_app mailtrack_testsupport GTest::gtest_main mailtrack_warnings)
add_test(NAME redis.peers
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --redis -- $<TARGET_FILE:redis_peer_tests>)
set_tests_properties(redis.peers PROPERTIES LABELS integration TIMEOUT 120)

# Processes: three senders sharing a 10/s budget (and Redis killed under them), Redis killed and
# restarted under `mailtrack worker`, `mailtrack status` served from the cache.
add_executable(send_rate_tool ${CMAKE_CURRENT_LIST_DIR}/integration/redis/send_rate_tool.cpp)
target_link_libraries(send_rate_tool PRIVATE mailtrack_app nlohmann_json::nlohmann_json mailtrack_warnings)
add_test(NAME redis.processes
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --fauxqs --
          ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/integration/redis/redis_process_test.py
          --binary $<TARGET_FILE:mailtrack> --send-tool $<TARGET_FILE:send_rate_tool>
          --event-tool $<TARGET_FILE:event_stream_tool>)
set_tests_properties(redis.processes PROPERTIES LABELS integration TIMEOUT 180)
