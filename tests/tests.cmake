# One line per test program: rc_test(name) builds tests/test_<name>.c linked
# with the core library. Keep each line owned by the module it tests; tests
# that need a server say so in properties below.
rc_test(naming)
rc_test(timewin)
rc_test(url)
rc_test(retry)
rc_test(sigv4)
rc_test(s3xml)
rc_test(store_s3)
# S3 tests run against a real RGW started once per ctest run (tests/rgw.sh);
# any test that needs it adds FIXTURES_REQUIRED rgw and reads ${CMAKE_BINARY_DIR}/rgw/env.
add_test(NAME rgw_start COMMAND ${CMAKE_SOURCE_DIR}/tests/rgw.sh start ${CMAKE_BINARY_DIR}/rgw)
set_tests_properties(rgw_start PROPERTIES FIXTURES_SETUP rgw TIMEOUT 180)
add_test(NAME rgw_stop COMMAND ${CMAKE_SOURCE_DIR}/tests/rgw.sh stop ${CMAKE_BINARY_DIR}/rgw)
set_tests_properties(rgw_stop PROPERTIES FIXTURES_CLEANUP rgw TIMEOUT 60)
set_tests_properties(store_s3 PROPERTIES FIXTURES_REQUIRED rgw)
rc_test(codec)
rc_test(codec_compact)
rc_test(codec_store)
rc_test(store_file)
rc_test(manifest)
rc_test(mseed)
rc_test(source)
rc_test(shape)
rc_test(run)
rc_test(metrics)
rc_test(security)
rc_test(layout)
rc_test(fill)
rc_test(crash)
rc_test(truth)
rc_test(inventory)
rc_test(verify)
rc_test(reindex)
rc_test(manpage)
rc_test(stations_config)
rc_test(config)
rc_test(sources)
# --station patterns, the selection rule, --region (select.c).
rc_test(select)
# restricted data: credentials parsing, queryauth digest and EIDA tokens (FDSN test server)
rc_test(srcauth)
# planning by the source's availability service (FDSN test server)
rc_test(avail)
add_test(NAME package COMMAND ${CMAKE_SOURCE_DIR}/tests/test_package.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/package)
set_tests_properties(package PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
add_test(NAME deploy COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/test_deploy.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(deploy PROPERTIES TIMEOUT 600 FIXTURES_REQUIRED rgw)
rc_test(shard)
set_tests_properties(shard PROPERTIES FIXTURES_REQUIRED rgw)
rc_test(gaps)
rc_test(source_empty)
rc_test(concurrency)
set_tests_properties(concurrency PROPERTIES FIXTURES_REQUIRED rgw)
rc_test(s3_e2e)
set_tests_properties(s3_e2e PROPERTIES FIXTURES_REQUIRED rgw)

# Leak check of the end-to-end invocations; skips (77) in an ASan build.
add_test(NAME valgrind COMMAND ${CMAKE_SOURCE_DIR}/tests/valgrind.sh ${CMAKE_BINARY_DIR})
set_tests_properties(valgrind PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# The include graph: no cycle among src/ and include/r2cache/ modules, and the
# private backend headers (store_int.h, source_int.h, ...) only in the backends.
add_test(NAME includes COMMAND ${CMAKE_SOURCE_DIR}/scripts/check_includes.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(includes PROPERTIES TIMEOUT 60)
# r2cache serve: the built binary over HTTP (libcurl), against the CLI's answers.
rc_test(serve)
# the same program's S3 suite, against the RGW fixture
add_test(NAME serve_rgw COMMAND test_serve --jobs 1 --filter "serve_rgw/*")
set_tests_properties(serve_rgw PROPERTIES TIMEOUT 600 FIXTURES_REQUIRED rgw
  ENVIRONMENT "RC_SOURCE_DIR=${CMAKE_SOURCE_DIR};RC_BINARY_DIR=${CMAKE_BINARY_DIR};RC_SERVE_RGW=1")
# FDSN web services: parsers, the miniSEED packer, the handler over a filled store.
rc_test(fdsnq)
rc_test(mspack)
# r2cache get: miniSEED read back by libmseed, JSON, fractional times, -h.
rc_test(get)
rc_test(fdsnws)
set_tests_properties(fdsnws PROPERTIES FIXTURES_REQUIRED rgw)
# A real third-party FDSN client (npm seisplotjs) against `r2cache serve`; skipped
# (exit 77) when node or npm is absent.
add_test(NAME seisplotjs COMMAND ${CMAKE_SOURCE_DIR}/tests/node/seisplotjs_test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(seisplotjs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# Formatting drift fails CI: the sources against .clang-format (scripts/check_format.sh --fix rewrites).
add_test(NAME format COMMAND ${CMAKE_SOURCE_DIR}/scripts/check_format.sh)
set_tests_properties(format PROPERTIES TIMEOUT 120)
rc_test(progress)
# The bash and zsh completions of contrib/ against the built binary's --help
# and a configuration's names; 77 (skipped) when zsh is absent.
add_test(NAME completion COMMAND ${CMAKE_SOURCE_DIR}/tests/test_completion.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(completion PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
# AWS credential chain: INI files, order of sources; profiles and web identity
# (tests/sts_stub.py handing out RGW GetSessionToken credentials) against RGW.
rc_test(awscred)
set_tests_properties(awscred PROPERTIES FIXTURES_REQUIRED rgw)
# Every --json answer of the binary against its schema in schemas/ (python3-jsonschema).
add_test(NAME schemas COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/test_schemas.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(schemas PROPERTIES TIMEOUT 300)
# The README's and the man page's EXAMPLES commands run as written against
# tests/fdsn_server.py over a synthetic archive (and docs/operations.md's); includes a
# self-check on broken examples.
add_test(NAME examples COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/test_examples.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(examples PROPERTIES TIMEOUT 600)
