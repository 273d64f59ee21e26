# kw_library(NAME name SRCS ... DEPS ...): one module target, aliased kw::name.
# The dependency rule of docs/architecture.md is expressed by DEPS: a module
# links only what it may use, so a forbidden include has no include path or
# symbols to resolve against.
function(kw_library)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(kw_${KW_NAME} STATIC ${KW_SRCS})
  add_library(kw::${KW_NAME} ALIAS kw_${KW_NAME})
  target_include_directories(kw_${KW_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kw_${KW_NAME} PUBLIC ${KW_DEPS})
  target_compile_options(kw_${KW_NAME} PRIVATE ${KW_WARNINGS})
endfunction()

# kw_test(NAME name SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary
# registered with CTest.
function(kw_test)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT KW_BUILD_TESTS)
    return()
  endif()
  add_executable(${KW_NAME} ${KW_SRCS})
  target_link_libraries(${KW_NAME} PRIVATE ${KW_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${KW_NAME} PRIVATE ${KW_WARNINGS})
  gtest_discover_tests(${KW_NAME} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${KW_LABELS}")
endfunction()

# kw_fuzzer(NAME name SRCS ... DEPS ...): a libFuzzer binary (only when
# KW_BUILD_FUZZERS is ON; the root CMakeLists.txt then builds every library
# with -fsanitize=fuzzer-no-link,address,undefined). Its seed corpus is
# tests/fuzz/corpus/<name>/; ctest (label `fuzz`) runs the corpus plus 2000
# deterministic mutations (-seed=1), writing new inputs and any crash
# artifact under the build dir, never into the checked-in corpus. The binary
# is added to the `fuzzers` target.
function(kw_fuzzer)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT KW_BUILD_FUZZERS)
    return()
  endif()
  add_executable(${KW_NAME} ${KW_SRCS})
  target_link_libraries(${KW_NAME} PRIVATE ${KW_DEPS})
  target_compile_options(${KW_NAME} PRIVATE ${KW_WARNINGS}
                         -fsanitize=fuzzer,address,undefined)
  target_link_options(${KW_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  add_dependencies(fuzzers ${KW_NAME})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${KW_NAME})
  if(NOT IS_DIRECTORY ${corpus})
    message(FATAL_ERROR "kw_fuzzer(${KW_NAME}): no seed corpus at ${corpus}")
  endif()
  add_test(NAME ${KW_NAME}
           COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/run_fuzzer.sh
                   $<TARGET_FILE:${KW_NAME}> ${corpus}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz-out/${KW_NAME})
  set_tests_properties(${KW_NAME} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()
