/*
 * harness_testbase.h: helpers for tests of the TestBase-style API
 * (/api/v1/, `Authorization: Bearer tb_{env}_{32hex}`): a TestBase key
 * made through the auth plugin's admin API, a call that checks its status
 * and parses the JSON answer, and the TestBase error shape.
 */
#ifndef CB_IT_HARNESS_TESTBASE_H
#define CB_IT_HARNESS_TESTBASE_H

#include <stddef.h>

#include <jansson.h>

#include "harness.h"

/* A tb_ key named `name`, made with the admin key; header gets
 * "Authorization: Bearer tb_demo_...". */
void it_testbase_key(const char *admin_key, const char *name, char *header, size_t size);
/* A JSON call as `auth` (a header line or NULL); fails the test unless
 * the status is `expect` and the answer is JSON, which it returns. */
json_t *it_testbase_call(const char *method, const char *path, const char *auth,
                         const char *body, long expect);
/* Fails the test unless v is {error:{code, message, details}} with code;
 * frees v. */
void it_testbase_expect_error(json_t *v, const char *code);

#endif
