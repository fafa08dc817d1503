/*
 * test_model.h: helpers the model plugin's unit suites share
 * (test_model.c, test_model_db.c): a schema or a JSON text parsed, failing
 * the test with the parser's message when it is refused.
 */
#ifndef CB_TEST_MODEL_H
#define CB_TEST_MODEL_H

#include "model.h"

md_schema *model_test_schema(apr_pool_t *p, const char *text);
cb_json *model_test_json(apr_pool_t *p, const char *text);

#endif
