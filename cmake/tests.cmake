# Test registration. Everything runs through ctest, in the normal and the sanitizer build.
#   tests/unit/<module>/<topic>.c   -> executable test_<module>_<topic> (cmocka)
#   tests/integration/*.sh          -> bash script, gets WEFT_BIN, WEFT_SRC, WEFT_BUILD
#   tests/integration/*.test.mjs    -> node --test, same environment
#   tests/fuzz/fuzz_<name>.c        -> replays tests/fuzz/corpus/<name>/ in every run
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

set(WEFT_SHARED_DATA "${CMAKE_SOURCE_DIR}/../shared/data" CACHE PATH "the shared data folder (tests skip what needs it when absent)")
set(WEFT_TEST_ENV
    "WEFT_BIN=$<TARGET_FILE:weft>"
    "WEFT_SRC=${CMAKE_SOURCE_DIR}"
    "WEFT_BUILD=${CMAKE_BINARY_DIR}"
    "WEFT_SHARED_DATA=${WEFT_SHARED_DATA}"
    "WEFT_SANITIZE=$<BOOL:${WEFT_SANITIZE}>")

file(GLOB_RECURSE WEFT_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*.c)
foreach(src ${WEFT_UNIT_TESTS})
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/tests/unit ${src})
  get_filename_component(dir ${rel} DIRECTORY)
  get_filename_component(topic ${rel} NAME_WE)
  set(name test_${dir}_${topic})
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/lib ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE weftlib PkgConfig::CMOCKA)
  add_test(NAME unit/${dir}/${topic} COMMAND ${name})
  set_tests_properties(unit/${dir}/${topic} PROPERTIES ENVIRONMENT "${WEFT_TEST_ENV}" SKIP_RETURN_CODE 77)
endforeach()

file(GLOB WEFT_SH_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/*.sh)
foreach(src ${WEFT_SH_TESTS})
  get_filename_component(topic ${src} NAME_WE)
  add_test(NAME integration/${topic} COMMAND bash ${src})
  set_tests_properties(integration/${topic} PROPERTIES ENVIRONMENT "${WEFT_TEST_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()

file(GLOB WEFT_NODE_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/*.test.mjs)
foreach(src ${WEFT_NODE_TESTS})
  get_filename_component(topic ${src} NAME)
  string(REPLACE ".test.mjs" "" topic ${topic})
  add_test(NAME integration/${topic} COMMAND node --test ${src})
  set_tests_properties(integration/${topic} PROPERTIES ENVIRONMENT "${WEFT_TEST_ENV}" SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()

# Fuzz targets: a replay driver in every build; real libFuzzer binaries with WEFT_FUZZ=ON (clang).
file(GLOB WEFT_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${WEFT_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "fuzz_" "" short ${name})
  if(WEFT_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE weftlib)
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/lib)
  else()
    add_executable(replay_${short} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
    target_link_libraries(replay_${short} PRIVATE weftlib)
    target_include_directories(replay_${short} PRIVATE ${CMAKE_SOURCE_DIR}/lib)
    add_test(NAME fuzz/${short} COMMAND replay_${short} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${short})
  endif()
endforeach()

# Helper for tests/integration/xet_formats.test.mjs: Weft's xorb and shard codecs on files, so the
# node test can compare them with the official JS client (found as $WEFT_BUILD/xet_formats_helper).
add_executable(xet_formats_helper ${CMAKE_SOURCE_DIR}/tests/helpers/xet_formats_helper.c)
target_link_libraries(xet_formats_helper PRIVATE weftlib)
