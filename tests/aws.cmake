# AWS protocol layer tests (issue 3). Included from tests/CMakeLists.txt.
# Labels: unit (no network, no servers), integration (AWS emulators on loopback; needs
# `npm ci` in tests/peers, python3 with moto and botocore, and the aws CLI).
find_package(GTest REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
include(GoogleTest)

set(MAILTRACK_AWS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

add_executable(aws_unit_tests
  unit/aws/retry_test.cpp
  unit/aws/sesv2_body_test.cpp
  unit/aws/sqs_receive_parse_test.cpp
  unit/aws/sigv4_suite_test.cpp)
target_link_libraries(aws_unit_tests PRIVATE mailtrack_aws nlohmann_json::nlohmann_json GTest::gtest_main)
target_compile_definitions(aws_unit_tests PRIVATE
  MAILTRACK_PYTHON3="${Python3_EXECUTABLE}"
  MAILTRACK_SESV2_BODY_SCRIPT="${MAILTRACK_AWS_TEST_DIR}/unit/aws/sesv2_botocore_body.py"
  MAILTRACK_SIGV4_SUITE_DIR="${MAILTRACK_AWS_TEST_DIR}/data/sigv4")
gtest_discover_tests(aws_unit_tests PROPERTIES LABELS unit DISCOVERY_TIMEOUT 30)

add_executable(aws_sigv4_tool unit/aws/sigv4_tool.cpp)
target_link_libraries(aws_sigv4_tool PRIVATE mailtrack_aws nlohmann_json::nlohmann_json)
add_test(NAME aws.sigv4_botocore_crosscheck
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/unit/aws/sigv4_botocore_check.py
          $<TARGET_FILE:aws_sigv4_tool> 240)
set_tests_properties(aws.sigv4_botocore_crosscheck PROPERTIES LABELS unit TIMEOUT 120)

add_library(mailtrack_aws_test_support STATIC support/loopback_http_server.cpp)
target_include_directories(mailtrack_aws_test_support PUBLIC ${MAILTRACK_AWS_TEST_DIR}/support)
target_link_libraries(mailtrack_aws_test_support PUBLIC mailtrack_aws Threads::Threads)

add_executable(aws_loopback_tests
  integration/aws/credentials_test.cpp
  integration/aws/sesv2_suppression_test.cpp
  integration/aws/transport_retry_test.cpp)
target_link_libraries(aws_loopback_tests PRIVATE mailtrack_aws_test_support GTest::gtest_main)
gtest_discover_tests(aws_loopback_tests PROPERTIES LABELS integration DISCOVERY_TIMEOUT 30)

# Against the emulators: tests/support/peers.py starts them on free loopback ports around the run.
add_executable(aws_peer_tests
  integration/aws/sesv2_peer_test.cpp
  integration/aws/sqs_sns_peer_test.cpp)
target_include_directories(aws_peer_tests PRIVATE ${MAILTRACK_AWS_TEST_DIR}/integration/aws)
target_link_libraries(aws_peer_tests PRIVATE mailtrack_aws_test_support nlohmann_json::nlohmann_json GTest::gtest_main)
add_test(NAME aws.peers
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/support/peers.py --fauxqs --moto --ses --
          $<TARGET_FILE:aws_peer_tests>)
set_tests_properties(aws.peers PROPERTIES LABELS integration TIMEOUT 300)

add_test(NAME aws.cli_check_notify
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/support/peers.py --fauxqs --ses --
          sh ${MAILTRACK_AWS_TEST_DIR}/integration/aws/cli_aws_check.sh $<TARGET_FILE:mailtrack>)
set_tests_properties(aws.cli_check_notify PROPERTIES LABELS integration TIMEOUT 120)

# The sending path (issue 5) against aws-ses-v2-local.
add_executable(sender_peer_tests ${MAILTRACK_AWS_TEST_DIR}/integration/sender/sender_peer_test.cpp)
target_include_directories(sender_peer_tests PRIVATE ${MAILTRACK_AWS_TEST_DIR}/integration/aws)
target_link_libraries(sender_peer_tests PRIVATE mailtrack_sender mailtrack_store_sqlite mailtrack_aws_test_support
  nlohmann_json::nlohmann_json GTest::gtest_main)
add_test(NAME sender.peers
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/support/peers.py --ses -- $<TARGET_FILE:sender_peer_tests>)
set_tests_properties(sender.peers PROPERTIES LABELS integration TIMEOUT 180)
add_test(NAME sender.cli_send
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/support/peers.py --ses --
          sh ${MAILTRACK_AWS_TEST_DIR}/integration/sender/cli_send.sh $<TARGET_FILE:mailtrack>)
set_tests_properties(sender.cli_send PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME sender.cli_send_bulk
  COMMAND Python3::Interpreter ${MAILTRACK_AWS_TEST_DIR}/support/peers.py --ses --
          sh ${MAILTRACK_AWS_TEST_DIR}/integration/sender/cli_send_bulk.sh $<TARGET_FILE:mailtrack>)
set_tests_properties(sender.cli_send_bulk PROPERTIES LABELS integration TIMEOUT 120)

# `suppress sync` against a loopback stand-in (no emulator implements the suppression APIs).
add_executable(suppression_sync_tests ${MAILTRACK_AWS_TEST_DIR}/integration/sender/suppression_sync_test.cpp)
target_link_libraries(suppression_sync_tests PRIVATE mailtrack_app mailtrack_store_sqlite mailtrack_aws_test_support
  nlohmann_json::nlohmann_json GTest::gtest_main mailtrack_warnings)
gtest_discover_tests(suppression_sync_tests PROPERTIES LABELS integration DISCOVERY_TIMEOUT 60)
