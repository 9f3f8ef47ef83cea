# LeakgraphTest: register CTest tests that run a program under leakgraph and gate on its leaks.
#
#   include(LeakgraphTest)          # or include(path/to/LeakgraphTest.cmake)
#   leakgraph_add_test(NAME name COMMAND program [args...]
#                      [POLICY "definite,indirect:bytes<=1024"] [POLICY_FILE file]
#                      [SUPPRESSIONS file...] [BASELINE file]
#                      [EXPECT pass|leaks|program|<exit code>]
#                      [JUNIT file] [SARIF file] [JSON file]
#                      [WORKING_DIRECTORY dir] [LABELS label...] [TIMEOUT seconds])
#
# The test runs `leakgraph run --check[=POLICY] ... -- program args` (docs/ci.md) with a fresh
# trace at <build dir>/<name>.lgt (and the traces of its children beside it) and passes when
# leakgraph's exit code is the expected one: pass (0, the default), leaks (1: the policy
# failed), program (4: the program itself failed), or a number. COMMAND and its arguments may
# use generator expressions ($<TARGET_FILE:tgt>). leakgraph is the `leakgraph` target when the
# project builds it, else LEAKGRAPH_EXECUTABLE (found on PATH).
#
# The same file is the test's runner: CTest runs it with `cmake -P` (below), which removes the
# traces of an earlier run (leakgraph never overwrites a trace), runs leakgraph and compares
# the exit code.

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED LGT_LEAKGRAPH)
  # ---- runner (cmake -P) ------------------------------------------------------------------
  get_filename_component(_dir "${LGT_TRACE}" DIRECTORY)
  get_filename_component(_name "${LGT_TRACE}" NAME)
  file(GLOB _old "${_dir}/${_name}" "${_dir}/${_name}.*")
  if(_old)
    file(REMOVE ${_old})
  endif()
  set(_check "--check")
  if(DEFINED LGT_POLICY AND NOT LGT_POLICY STREQUAL "")
    set(_check "--check=${LGT_POLICY}")
  endif()
  set(_args run ${_check} --output "${LGT_TRACE}")
  if(LGT_POLICY_FILE)
    list(APPEND _args --policy-file "${LGT_POLICY_FILE}")
  endif()
  foreach(_s IN LISTS LGT_SUPPRESSIONS)
    list(APPEND _args --suppressions "${_s}")
  endforeach()
  foreach(_o BASELINE JUNIT SARIF JSON)
    if(LGT_${_o})
      string(TOLOWER "${_o}" _opt)
      list(APPEND _args --${_opt} "${LGT_${_o}}")
    endif()
  endforeach()
  string(REPLACE "\\;" ";" _cmd "${LGT_COMMAND}")
  execute_process(COMMAND "${LGT_LEAKGRAPH}" ${_args} -- ${_cmd} RESULT_VARIABLE _rc)
  if(NOT "${_rc}" STREQUAL "${LGT_EXPECT}")
    message(FATAL_ERROR "leakgraph exited with ${_rc}, expected ${LGT_EXPECT} "
                        "(0 pass, 1 leaks, 2 usage, 3 leakgraph error, 4 the program failed)")
  endif()
  return()
endif()

set(LEAKGRAPH_TEST_SCRIPT "${CMAKE_CURRENT_LIST_FILE}" CACHE INTERNAL "runner of leakgraph_add_test")

function(leakgraph_add_test)
  cmake_parse_arguments(LGT "" "NAME;POLICY;POLICY_FILE;BASELINE;EXPECT;JUNIT;SARIF;JSON;WORKING_DIRECTORY;TIMEOUT"
                        "COMMAND;SUPPRESSIONS;LABELS" ${ARGN})
  if(NOT LGT_NAME OR NOT LGT_COMMAND)
    message(FATAL_ERROR "leakgraph_add_test: NAME and COMMAND are required")
  endif()
  if(TARGET leakgraph)
    set(lg "$<TARGET_FILE:leakgraph>")
  else()
    find_program(LEAKGRAPH_EXECUTABLE leakgraph)
    if(NOT LEAKGRAPH_EXECUTABLE)
      message(FATAL_ERROR "leakgraph_add_test: leakgraph not found (set LEAKGRAPH_EXECUTABLE)")
    endif()
    set(lg "${LEAKGRAPH_EXECUTABLE}")
  endif()
  if(NOT DEFINED LGT_EXPECT OR LGT_EXPECT STREQUAL "pass")
    set(expect 0)
  elseif(LGT_EXPECT STREQUAL "leaks")
    set(expect 1)
  elseif(LGT_EXPECT STREQUAL "program")
    set(expect 4)
  elseif(LGT_EXPECT MATCHES "^[0-9]+$")
    set(expect ${LGT_EXPECT})
  else()
    message(FATAL_ERROR "leakgraph_add_test(${LGT_NAME}): EXPECT is pass, leaks, program or a number")
  endif()
  # lists travel through -D with their separators escaped
  string(REPLACE ";" "\\;" cmd "${LGT_COMMAND}")
  string(REPLACE ";" "\\;" supp "${LGT_SUPPRESSIONS}")
  set(defs -DLGT_LEAKGRAPH=${lg} -DLGT_TRACE=${CMAKE_CURRENT_BINARY_DIR}/${LGT_NAME}.lgt
           -DLGT_EXPECT=${expect} "-DLGT_COMMAND=${cmd}" "-DLGT_SUPPRESSIONS=${supp}")
  foreach(o POLICY POLICY_FILE BASELINE JUNIT SARIF JSON)
    if(DEFINED LGT_${o})
      list(APPEND defs "-DLGT_${o}=${LGT_${o}}")
    endif()
  endforeach()
  set(wd "")
  if(LGT_WORKING_DIRECTORY)
    set(wd WORKING_DIRECTORY ${LGT_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${LGT_NAME} COMMAND ${CMAKE_COMMAND} ${defs} -P ${LEAKGRAPH_TEST_SCRIPT} ${wd})
  set(timeout 300)
  if(LGT_TIMEOUT)
    set(timeout ${LGT_TIMEOUT})
  endif()
  set_tests_properties(${LGT_NAME} PROPERTIES TIMEOUT ${timeout})
  if(LGT_LABELS)
    set_tests_properties(${LGT_NAME} PROPERTIES LABELS "${LGT_LABELS}")
  endif()
endfunction()
