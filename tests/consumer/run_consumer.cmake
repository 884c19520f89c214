# Installs the build tree into a scratch prefix, then configures, builds and runs an outside
# project (the consumer test, or an example) against it with find_package(sepconv 0.1 CONFIG
# REQUIRED). EXECUTABLE names the program to run; when it exits with SKIP_CODE (77: no GPU) the
# build is what was tested, and the script says so.
foreach(var SEPCONV_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR EXECUTABLE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} --install "${SEPCONV_BUILD_DIR}" --prefix "${prefix}"
  --config ${CMAKE_BUILD_TYPE})
run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
execute_process(COMMAND "${WORK_DIR}/build/${EXECUTABLE}" RESULT_VARIABLE rc)
if(DEFINED SKIP_CODE AND rc EQUAL SKIP_CODE)
  message(STATUS "${EXECUTABLE} built against the installed package; not run: no CUDA device")
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} failed (${rc})")
endif()
