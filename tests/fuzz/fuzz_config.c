/*
 * fuzz_config.c: rc_config_parse on arbitrary bytes (both accepted inputs,
 * r2cache's own file and the viewer's stations_config.json, go through the
 * same entry point). Every accepted channel must pass the FDSN code rules,
 * because those codes go straight into keys and paths.
 */
#include <stdint.h>
#include <stdlib.h>

#include "r2cache/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    rc_config c;
    rc_err e;
    if (rc_config_parse((const char *)data, size, "fuzz.json", &c, &e) != RC_OK) return 0;
    for (size_t v = 0; v < c.nvolcanoes; v++) {
        if (rc_volcano_validate(c.volcanoes[v].name, &e) != RC_OK) abort();
        for (size_t s = 0; s < c.volcanoes[v].nstations; s++)
            if (rc_chan_validate(&c.volcanoes[v].stations[s].chan, &e) != RC_OK) abort();
    }
    rc_config_free(&c);
    return 0;
}
