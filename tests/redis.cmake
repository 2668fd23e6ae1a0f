# Redis beside the store (issue 6 §2). Included from tests/CMakeLists.txt after worker.cmake.
mailtrack_unit_test(redis_unit_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/unit/redis/redis_unit_test.cpp LIBS mailtrack_app)

# The client, the GCRA limiter and RedisSharedStore against a real redis-server on loopback.
add_executable(redis_peer_tests ${CMAKE_CURRENT_LIST_DIR}/integration/redis/redis_peer_test.cpp)
target_include_directories(redis_peer_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/unit/store)
target_link_libraries(redis_peer_tests PRIVATE mailtrack_app mailtrack_testsupport GTest::gtest_main mailtrack_warnings)
add_test(NAME redis.peers
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --redis -- $<TARGET_FILE:redis_peer_tests>)
set_tests_properties(redis.peers PROPERTIES LABELS integration TIMEOUT 120)
