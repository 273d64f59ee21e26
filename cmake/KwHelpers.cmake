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
