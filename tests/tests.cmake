# One line per test program: rc_test(name modules...). Keep each line owned by
# the module it tests; tests that need a server say so in properties below.
rc_test(naming err buf timewin naming)
rc_test(timewin err buf timewin)
rc_test(codec err buf codec)
