/*
 * test_ratelimit.h: the ratelimit suite is split over two files; this adds
 * the "rules" and "local" tcases of test_ratelimit_local.c to it.
 */
#ifndef CB_TEST_RATELIMIT_H
#define CB_TEST_RATELIMIT_H

#include <check.h>

void ratelimit_add_rule_and_local_cases(Suite *s);

#endif
