# libFuzzer targets (tests/fuzz/fuzz_<name>.c), built when R2CACHE_FUZZ=ON
# with clang: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DR2CACHE_FUZZ=ON
# Each target compiles its own copy of the modules it drives, instrumented
# for coverage, so the rest of the build keeps its usual flags. A deterministic
# replay of each (seeds, committed reproducers, fixed-seed mutations) is a
# CTest test (label "fuzz"); random long runs: tests/fuzz/run.sh TARGET SECONDS.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "R2CACHE_FUZZ needs clang (libFuzzer): -DCMAKE_C_COMPILER=clang-14")
endif()
set(RC_FUZZ_SMOKE_SECONDS replay CACHE STRING "fuzz smoke budget: replay (CI: seeds, reproducers, fixed-seed mutations) or seconds of random fuzzing")
function(rc_fuzz name)
  set(srcs ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  foreach(m ${ARGN})
    list(APPEND srcs ${CMAKE_SOURCE_DIR}/src/${m}.c)
  endforeach()
  foreach(f ${srcs})
    if(NOT EXISTS ${f})
      message(WARNING "fuzz target ${name} not built: ${f} does not exist yet")
      return()
    endif()
  endforeach()
  add_executable(fuzz_${name} ${srcs})
  target_include_directories(fuzz_${name} PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_BINARY_DIR}/gen)
  target_compile_options(fuzz_${name} PRIVATE -g -O1 -fno-omit-frame-pointer
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_${name} PRIVATE ${RC_DEPS})
  add_test(NAME fuzz_${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh ${name} ${RC_FUZZ_SMOKE_SECONDS})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600
    ENVIRONMENT "RC_FUZZ_BUILD=${CMAKE_BINARY_DIR}")
endfunction()
set(RC_FUZZ_STORE err buf log timewin naming store store_file store_s3 sigv4 s3xml)
rc_fuzz(key err buf timewin naming)
rc_fuzz(manifest ${RC_FUZZ_STORE} manifest)
rc_fuzz(config err buf timewin naming config)
rc_fuzz(mseed err buf timewin naming mseed shape codec)
rc_fuzz(s3list err buf s3xml)
rc_fuzz(s3error err buf s3xml)
rc_fuzz(fdsnq err buf timewin fdsnq)
