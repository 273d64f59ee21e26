# The dependency rule of docs/architecture.md ("Modules and the dependency
# rule") is enforced by the build in two ways:
#
# 1. Include roots. A module is a directory under src/keywarden/ that has a
#    CMakeLists.txt (common, store, store/sqlite, api/http, ...). Each module
#    gets an include root of its own, ${PROJECT_BINARY_DIR}/kw-include/<module,
#    / written as .>/, holding only keywarden/<module>: a symlink to the
#    source directory, or, for a module with sub-modules (store), a real
#    directory of symlinks to its files and non-module subdirectories, so that
#    kw-include/store reaches store/store.h but not store/sqlite/. No target
#    has src/ on its include path. A kw_library puts its module's root in its
#    PUBLIC include directories, so CMake's own usage requirements give every
#    target the roots of its module and of the kw:: targets it links,
#    transitively (public headers include their deps' headers), and nothing
#    else: DEPS is the one list. Including a module a target does not link is
#    a compile error ("No such file"). The symlinks are made at configure
#    time. Nothing here lists files: a module's directory is linked whole,
#    except that a module with sub-modules globs its entries
#    (CONFIGURE_DEPENDS), so a file added there re-runs CMake. The ctest test
#    include_roots (cmake/include_roots_test.cmake) checks the roots in the
#    build's compile commands.
# 2. scripts/check-deps.sh, for what include roots cannot see: system headers
#    (Boost, sqlite3.h) are reachable from every target, and a module reaches
#    the headers of its deps' deps (api links service, whose headers include
#    store/store.h). It runs as the build step kw_dependency_rule, which every
#    kw_library waits for, so `ninja` fails on a violation; ctest runs it too
#    (test dependency_rule).

set(KW_MODULES_DIR ${PROJECT_SOURCE_DIR}/src/keywarden)
set(KW_INCLUDE_ROOTS_DIR ${PROJECT_BINARY_DIR}/kw-include)

# The dependency-rule check as a build step (see 2. above): re-run when the
# script or any source under src/keywarden changes, and before any
# kw_library compiles.
file(GLOB_RECURSE _kw_rule_inputs CONFIGURE_DEPENDS
     ${KW_MODULES_DIR}/*.h ${KW_MODULES_DIR}/*.cc)
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/dependency_rule.stamp
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/check-deps.sh
  COMMAND ${CMAKE_COMMAND} -E touch ${PROJECT_BINARY_DIR}/dependency_rule.stamp
  DEPENDS ${PROJECT_SOURCE_DIR}/scripts/check-deps.sh ${_kw_rule_inputs}
  COMMENT "Checking the dependency rule (scripts/check-deps.sh)"
  VERBATIM)
add_custom_target(kw_dependency_rule ALL
  DEPENDS ${PROJECT_BINARY_DIR}/dependency_rule.stamp)

# _kw_module_of(dir out): the module of a source directory (api/http for
# src/keywarden/api/http), or "" outside src/keywarden.
function(_kw_module_of dir out)
  file(RELATIVE_PATH rel ${KW_MODULES_DIR} ${dir})
  if(rel STREQUAL "" OR rel MATCHES "^\\.\\.")
    set(${out} "" PARENT_SCOPE)
  else()
    set(${out} ${rel} PARENT_SCOPE)
  endif()
endfunction()

# _kw_include_root(module out): makes (once per configure) the include root
# of a module and returns its path.
function(_kw_include_root module out)
  string(REPLACE "/" "." name ${module})
  set(root ${KW_INCLUDE_ROOTS_DIR}/${name})
  set(${out} ${root} PARENT_SCOPE)
  get_property(done GLOBAL PROPERTY KW_INCLUDE_ROOT_DONE_${name})
  if(done)
    return()
  endif()
  set_property(GLOBAL PROPERTY KW_INCLUDE_ROOT_DONE_${name} TRUE)

  set(src ${KW_MODULES_DIR}/${module})
  set(dest ${root}/keywarden/${module})
  # REMOVE_RECURSE deletes symlinks, it does not follow them into src/.
  file(REMOVE_RECURSE ${root})
  get_filename_component(parent ${dest} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})

  file(GLOB entries CONFIGURE_DEPENDS LIST_DIRECTORIES true ${src}/*)
  set(submodules "")
  foreach(entry IN LISTS entries)
    if(IS_DIRECTORY ${entry} AND EXISTS ${entry}/CMakeLists.txt)
      list(APPEND submodules ${entry})
    endif()
  endforeach()
  if(NOT submodules)
    file(CREATE_LINK ${src} ${dest} SYMBOLIC)
    return()
  endif()
  file(MAKE_DIRECTORY ${dest})
  foreach(entry IN LISTS entries)
    if(NOT entry IN_LIST submodules)
      get_filename_component(leaf ${entry} NAME)
      file(CREATE_LINK ${entry} ${dest}/${leaf} SYMBOLIC)
    endif()
  endforeach()
endfunction()

# _kw_add_own_root(target scope): adds the include root of the module whose
# directory defines target, if it is one.
function(_kw_add_own_root target scope)
  _kw_module_of(${CMAKE_CURRENT_SOURCE_DIR} module)
  if(module)
    _kw_include_root(${module} root)
    target_include_directories(${target} ${scope} ${root})
  endif()
endfunction()

# kw_library(NAME name SRCS ... DEPS ... [HEADER_DEPS ...]): one target of
# the module whose directory calls it, aliased kw::name. DEPS are PUBLIC: a
# module links only what it may use, and it may include only its own module
# and what it links (see above), so a forbidden include has no include path or
# symbols to resolve against. HEADER_DEPS are kw:: targets whose headers
# (plain types, inline code) it includes without linking their code, e.g. the
# JSON codec over the service's request types, so that a fuzzer of the codec
# builds no service: it gets their include roots (transitively) and nothing to
# link, and a call into their compiled code fails to link.
function(kw_library)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS;HEADER_DEPS" ${ARGN})
  _kw_module_of(${CMAKE_CURRENT_SOURCE_DIR} module)
  if(NOT module)
    message(FATAL_ERROR "kw_library(${KW_NAME}): ${CMAKE_CURRENT_SOURCE_DIR} "
                        "is not a module directory under ${KW_MODULES_DIR}")
  endif()
  add_library(kw_${KW_NAME} STATIC ${KW_SRCS})
  add_library(kw::${KW_NAME} ALIAS kw_${KW_NAME})
  _kw_add_own_root(kw_${KW_NAME} PUBLIC)
  target_link_libraries(kw_${KW_NAME} PUBLIC ${KW_DEPS})
  foreach(dep IN LISTS KW_HEADER_DEPS)
    target_include_directories(kw_${KW_NAME} PUBLIC
      $<TARGET_PROPERTY:${dep},INTERFACE_INCLUDE_DIRECTORIES>)
  endforeach()
  target_compile_options(kw_${KW_NAME} PRIVATE ${KW_WARNINGS})
  add_dependencies(kw_${KW_NAME} kw_dependency_rule)
endfunction()

# kw_test(NAME name SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary
# registered with CTest. It may include its own module and what DEPS reach
# (a test may link what its module may not, e.g. a concrete store).
function(kw_test)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT KW_BUILD_TESTS)
    return()
  endif()
  add_executable(${KW_NAME} ${KW_SRCS})
  _kw_add_own_root(${KW_NAME} PRIVATE)
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
# is added to the `fuzzers` target. Like a test, it may include what DEPS
# reach (and its own module, if it lives in one).
function(kw_fuzzer)
  cmake_parse_arguments(KW "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT KW_BUILD_FUZZERS)
    return()
  endif()
  add_executable(${KW_NAME} ${KW_SRCS})
  _kw_add_own_root(${KW_NAME} PRIVATE)
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
