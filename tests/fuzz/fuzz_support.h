/*
 * fuzz_support.h: what every libFuzzer target here starts with: APR set up
 * once, a pool cleared after each input, and require(), which aborts with
 * the broken invariant and the input when a property does not hold (so
 * libFuzzer saves the input as a crash). Define FUZZ_TARGET_NAME, then
 * include this after the system and APR headers. A target that needs more
 * set-up defines FUZZ_HAS_SETUP and a static void fuzz_setup(void), which
 * runs once after the pool exists.
 */
#ifndef CB_FUZZ_SUPPORT_H
#define CB_FUZZ_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>

#ifndef FUZZ_TARGET_NAME
#error "define FUZZ_TARGET_NAME before including fuzz_support.h"
#endif

static apr_pool_t *iteration_pool;

#ifdef FUZZ_HAS_SETUP
static void fuzz_setup(void);
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&iteration_pool, NULL);
#ifdef FUZZ_HAS_SETUP
    fuzz_setup();
#endif
    return 0;
}

static void require(int condition, const char *what, const char *input)
{
    if (condition)
        return;
    fprintf(stderr, FUZZ_TARGET_NAME " invariant broken: %s (input '%s')\n", what, input);
    abort();
}

#endif
