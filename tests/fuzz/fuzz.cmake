# libFuzzer targets (tests/fuzz/fuzz_<name>.c), built when R2CACHE_FUZZ=ON
# with clang: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DR2CACHE_FUZZ=ON
# The targets link r2core_fuzz, a copy of the core library (every module of
# RC_MODULES) instrumented for coverage and sanitizers, so the rest of the
# build keeps its usual flags. A deterministic replay of each (seeds,
# committed reproducers, fixed-seed mutations) is a CTest test (label "fuzz");
# random long runs: tests/fuzz/run.sh TARGET SECONDS.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "R2CACHE_FUZZ needs clang (libFuzzer): -DCMAKE_C_COMPILER=clang-14")
endif()
set(RC_FUZZ_SMOKE_SECONDS replay CACHE STRING "fuzz smoke budget: replay (CI: seeds, reproducers, fixed-seed mutations) or seconds of random fuzzing")
set(RC_FUZZ_CFLAGS -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
add_library(r2core_fuzz STATIC ${RC_SOURCES})
target_include_directories(r2core_fuzz PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_BINARY_DIR}/gen)
target_compile_options(r2core_fuzz PRIVATE ${RC_FUZZ_CFLAGS}
  -fsanitize=fuzzer-no-link,address,undefined)
target_link_libraries(r2core_fuzz PUBLIC ${RC_DEPS})
# rc_fuzz(name): tests/fuzz/fuzz_<name>.c linked with r2core_fuzz. Words
# after the name (the module lists of old) are ignored.
function(rc_fuzz name)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  target_compile_options(fuzz_${name} PRIVATE ${RC_FUZZ_CFLAGS}
    -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_${name} PRIVATE r2core_fuzz)
  add_test(NAME fuzz_${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run.sh ${name} ${RC_FUZZ_SMOKE_SECONDS})
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600
    ENVIRONMENT "RC_FUZZ_BUILD=${CMAKE_BINARY_DIR}")
endfunction()
rc_fuzz(key)
rc_fuzz(manifest)
rc_fuzz(config)
rc_fuzz(mseed)
rc_fuzz(s3list)
rc_fuzz(s3error)
rc_fuzz(fdsnq)
rc_fuzz(codec)
