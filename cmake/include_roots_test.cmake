# The include roots of cmake/KwHelpers.cmake, checked against the build's own
# compile commands: each case preprocesses a one-line file that includes a
# header, with exactly the flags the build uses for one target's sources
# (compile_commands.json), and expects it to find the header ("ok") or to fail
# because the header is not on that target's include path ("missing"). If a
# target could reach src/ (or any module it does not link) again, a "missing"
# case compiles and this test fails. Run by ctest (test include_roots):
#   cmake -DBUILD_DIR=<build dir> -P cmake/include_roots_test.cmake
# It needs a configured build dir only, not a built one.
cmake_minimum_required(VERSION 3.25)

if(NOT BUILD_DIR OR NOT EXISTS ${BUILD_DIR}/compile_commands.json)
  message(FATAL_ERROR "usage: cmake -DBUILD_DIR=<configured build dir> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
get_filename_component(BUILD_DIR ${BUILD_DIR} ABSOLUTE)

# target|header|expectation. The allowed set of a target is its own module and
# the modules of what it links, transitively; tests add what they link.
set(cases
  "kw_crypto|keywarden/crypto/aes_gcm.h|ok"
  "kw_crypto|keywarden/common/status_macros.h|ok"
  "kw_crypto|keywarden/keys/key.h|missing"
  "kw_crypto|keywarden/store/store.h|missing"
  "kw_keys|keywarden/keys/envelope.h|ok"
  "kw_keys|keywarden/seal/seal.h|missing"
  "kw_store_api|keywarden/store/store.h|ok"
  "kw_store_api|keywarden/store/sqlite/sqlite_store.h|missing"
  "kw_store_api|keywarden/store/memory/memory_store.h|missing"
  "kw_service|keywarden/service/key_manager.h|ok"
  "kw_service|keywarden/store/sqlite/sqlite_store.h|missing"
  "kw_service|keywarden/api/http/server.h|missing"
  "kw_keyprotect_json|keywarden/service/types.h|ok"
  "kw_keyprotect_json|keywarden/api/http/router.h|missing"
  "kw_cli|keywarden/net/http_client.h|ok"
  "kw_cli|keywarden/service/key_manager.h|missing"
  "service_test|keywarden/store/memory/memory_store.h|ok"
)

# One pass over the database: the first compile command of each target named
# in a case.
file(READ ${BUILD_DIR}/compile_commands.json db)
string(JSON count LENGTH "${db}")
math(EXPR last "${count} - 1")
set(wanted "")
foreach(case IN LISTS cases)
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 target)
  list(APPEND wanted ${target})
endforeach()
list(REMOVE_DUPLICATES wanted)
foreach(i RANGE ${last})
  string(JSON command GET "${db}" ${i} command)
  if(command MATCHES "CMakeFiles/([A-Za-z0-9_]+)\\.dir/")
    set(target ${CMAKE_MATCH_1})
    if(target IN_LIST wanted AND NOT DEFINED command_${target})
      set(command_${target} "${command}")
      string(JSON directory_${target} GET "${db}" ${i} directory)
    endif()
  endif()
endforeach()

set(work ${BUILD_DIR}/include_roots_test)
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work})
set(failures 0)
set(n 0)
foreach(case IN LISTS cases)
  math(EXPR n "${n} + 1")
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 target)
  list(GET fields 1 header)
  list(GET fields 2 expect)
  if(NOT DEFINED command_${target})
    message("FAIL ${target}: no compile command in compile_commands.json")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  # The target's command minus its output and source: -o X, -c FILE.
  separate_arguments(args UNIX_COMMAND "${command_${target}}")
  set(flags "")
  set(skip_next FALSE)
  foreach(arg IN LISTS args)
    if(skip_next)
      set(skip_next FALSE)
    elseif(arg STREQUAL "-o" OR arg STREQUAL "-c")
      set(skip_next TRUE)
    else()
      list(APPEND flags "${arg}")
    endif()
  endforeach()
  set(probe ${work}/probe_${n}.cc)
  file(WRITE ${probe} "#include \"${header}\"\n")
  execute_process(
    COMMAND ${flags} -E -o ${work}/probe_${n}.ii ${probe}
    WORKING_DIRECTORY ${directory_${target}}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
  # gcc: "keywarden/x.h: No such file or directory"; clang: "'keywarden/x.h'
  # file not found". Anything else (a bad flag, an error inside the header)
  # is not the failure this test is about.
  string(REGEX MATCH "[^\n]*(No such file|file not found)[^\n]*" not_found "${err}")
  string(FIND "${not_found}" "${header}" at)
  if(expect STREQUAL "ok" AND rc EQUAL 0)
    message("ok   ${target}: #include \"${header}\" found")
  elseif(expect STREQUAL "missing" AND NOT rc EQUAL 0 AND at GREATER -1)
    message("ok   ${target}: #include \"${header}\" not found, as it must be")
  else()
    message("FAIL ${target}: #include \"${header}\" expected ${expect}, "
            "compiler exit ${rc}:\n${err}")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()

if(failures GREATER 0)
  message(FATAL_ERROR "include_roots: ${failures} of ${n} cases failed")
endif()
message("include_roots: all ${n} cases passed")
