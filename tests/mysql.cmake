# The MySQL store (issue 6): the store suite of store_test again on a real MariaDB server that
# tests/support/peers.py --mariadb starts on loopback, plus what only a server can show
# (concurrent writers, a server restart, TLS). Included from tests/CMakeLists.txt.
add_executable(store_mysql_test
  ${CMAKE_CURRENT_LIST_DIR}/unit/store/sqlite_store_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/store/order_property_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unit/store/send_store_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/integration/store/mysql_store_test.cpp)
target_compile_definitions(store_mysql_test PRIVATE MAILTRACK_TEST_MYSQL=1 MAILTRACK_TESTDATA="${MAILTRACK_TESTDATA}")
target_include_directories(store_mysql_test PRIVATE ${RAPIDCHECK_INCLUDE_DIR} ${CMAKE_CURRENT_LIST_DIR}/unit/store)
target_link_libraries(store_mysql_test PRIVATE mailtrack_store_mysql mailtrack_store_sqlite mailtrack_ses
  mailtrack_testsupport nlohmann_json::nlohmann_json PkgConfig::MARIADB ${RAPIDCHECK_LIBRARY} GTest::gtest GTest::gtest_main mailtrack_warnings)
# One server for the whole binary; every test opens its own database. The property test makes
# two databases per case, so it runs fewer cases here than on SQLite.
add_test(NAME store.mysql
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --mariadb -- $<TARGET_FILE:store_mysql_test>)
set_tests_properties(store.mysql PROPERTIES LABELS integration TIMEOUT 300 ENVIRONMENT "RC_PARAMS=max_success=30")

# Secrets Manager (the MySQL password from an RDS-managed secret) against moto.
add_executable(secrets_peer_test ${CMAKE_CURRENT_LIST_DIR}/integration/app/secrets_peer_test.cpp)
target_include_directories(secrets_peer_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/integration/aws)
target_link_libraries(secrets_peer_test PRIVATE mailtrack_app mailtrack_aws_test_support nlohmann_json::nlohmann_json
  GTest::gtest_main mailtrack_warnings)
add_test(NAME app.secrets_peers
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --moto -- $<TARGET_FILE:secrets_peer_test>)
set_tests_properties(app.secrets_peers PROPERTIES LABELS integration TIMEOUT 120)

# The binary on the mysql backend with its credentials from a Secrets Manager secret (moto).
add_test(NAME store.cli_mysql
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --mariadb --moto --
          sh ${CMAKE_CURRENT_LIST_DIR}/integration/store/cli_mysql.sh $<TARGET_FILE:mailtrack>
          ${CMAKE_SOURCE_DIR}/samples/events.ndjson)
set_tests_properties(store.cli_mysql PROPERTIES LABELS integration TIMEOUT 120)

# Worker processes writing to MariaDB: three on one queue (~20,000 documents), and a server restart mid-run.
add_test(NAME worker.mysql_processes
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/support/peers.py --fauxqs --mariadb --
          ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/integration/worker/worker_mysql_test.py
          --binary $<TARGET_FILE:mailtrack> --event-tool $<TARGET_FILE:event_stream_tool>)
set_tests_properties(worker.mysql_processes PROPERTIES LABELS integration TIMEOUT 420)
