# One line per test program: rc_test(name modules...). Keep each line owned by
# the module it tests; tests that need a server say so in properties below.
rc_test(naming err buf timewin naming)
rc_test(timewin err buf timewin)
rc_test(sigv4 err buf sigv4)
rc_test(s3xml err buf s3xml)
rc_test(store_s3 err buf log store store_file store_s3 sigv4 s3xml)
# S3 tests run against a real RGW started once per ctest run (tests/rgw.sh);
# any test that needs it adds FIXTURES_REQUIRED rgw and reads ${CMAKE_BINARY_DIR}/rgw/env.
add_test(NAME rgw_start COMMAND ${CMAKE_SOURCE_DIR}/tests/rgw.sh start ${CMAKE_BINARY_DIR}/rgw)
set_tests_properties(rgw_start PROPERTIES FIXTURES_SETUP rgw TIMEOUT 180)
add_test(NAME rgw_stop COMMAND ${CMAKE_SOURCE_DIR}/tests/rgw.sh stop ${CMAKE_BINARY_DIR}/rgw)
set_tests_properties(rgw_stop PROPERTIES FIXTURES_CLEANUP rgw TIMEOUT 60)
if(TEST store_s3)
  set_tests_properties(store_s3 PROPERTIES FIXTURES_REQUIRED rgw)
endif()
rc_test(codec err buf codec)
rc_test(store_file err buf log timewin naming store store_file store_s3 sigv4 s3xml)
rc_test(manifest err buf log timewin naming store store_file store_s3 sigv4 s3xml manifest)
rc_test(source err buf timewin naming source source_fdsn source_sds)
rc_test(shape err buf timewin naming shape)
rc_test(run err buf codec)
rc_test(metrics err buf log metrics)
rc_test(security err buf log timewin naming config store store_file store_s3 sigv4 s3xml source source_fdsn source_sds)
