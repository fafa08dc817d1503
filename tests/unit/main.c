/*
 * main.c: runs every Check suite of the unit tests.
 */
#include <stdlib.h>

#include <apr_general.h>
#include <check.h>

Suite *values_suite(void);
Suite *options_suite(void);
Suite *router_suite(void);
Suite *allowlist_suite(void);
Suite *errors_suite(void);
Suite *loader_suite(void);
Suite *dispatch_suite(void);
Suite *redis_suite(void);
Suite *cache_suite(void);
Suite *http_client_suite(void);
Suite *jwt_suite(void);
Suite *jwt_claims_suite(void);
Suite *json_scan_suite(void);
Suite *json_suite(void);
Suite *ratelimit_suite(void);
Suite *functions_parse_suite(void);
Suite *storage_parse_suite(void);
Suite *storage_remote_suite(void);
Suite *storage_s3_parse_suite(void);
Suite *model_parse_suite(void);
Suite *model_db_suite(void);
Suite *uptime_parse_suite(void);
Suite *wallet_parse_suite(void);
Suite *containers_parse_suite(void);
Suite *hash_gate_suite(void);
Suite *exports_suite(void);
Suite *lease_queue_suite(void);
Suite *readcache_suite(void);
Suite *task_runner_suite(void);
Suite *sse_suite(void);
Suite *usage_scan_suite(void);
Suite *url_guard_suite(void);
Suite *notify_suite(void);
Suite *http_stream_suite(void);
Suite *http_stream_options_suite(void);
Suite *http_stream_unix_suite(void);
Suite *db_suite(void);
Suite *services_suite(void);
Suite *metering_suite(void);
Suite *gateway_rules_suite(void);
Suite *encoding_suite(void);
Suite *sign_suite(void);
Suite *sign_oracle_suite(void);
Suite *log_suite(void);
Suite *redis_cluster_suite(void);

int main(void)
{
    SRunner *sr;
    int failed;
    apr_initialize();
    sr = srunner_create(values_suite());
    srunner_add_suite(sr, options_suite());
    srunner_add_suite(sr, router_suite());
    srunner_add_suite(sr, allowlist_suite());
    srunner_add_suite(sr, errors_suite());
    srunner_add_suite(sr, loader_suite());
    srunner_add_suite(sr, dispatch_suite());
    srunner_add_suite(sr, redis_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_add_suite(sr, http_client_suite());
    srunner_add_suite(sr, jwt_suite());
    srunner_add_suite(sr, jwt_claims_suite());
    srunner_add_suite(sr, json_scan_suite());
    srunner_add_suite(sr, json_suite());
    srunner_add_suite(sr, ratelimit_suite());
    srunner_add_suite(sr, functions_parse_suite());
    srunner_add_suite(sr, storage_parse_suite());
    srunner_add_suite(sr, storage_remote_suite());
    srunner_add_suite(sr, storage_s3_parse_suite());
    srunner_add_suite(sr, model_parse_suite());
    srunner_add_suite(sr, model_db_suite());
    srunner_add_suite(sr, uptime_parse_suite());
    srunner_add_suite(sr, wallet_parse_suite());
    srunner_add_suite(sr, containers_parse_suite());
    srunner_add_suite(sr, hash_gate_suite());
    srunner_add_suite(sr, exports_suite());
    srunner_add_suite(sr, lease_queue_suite());
    srunner_add_suite(sr, readcache_suite());
    srunner_add_suite(sr, task_runner_suite());
    srunner_add_suite(sr, sse_suite());
    srunner_add_suite(sr, usage_scan_suite());
    srunner_add_suite(sr, url_guard_suite());
    srunner_add_suite(sr, notify_suite());
    srunner_add_suite(sr, http_stream_suite());
    srunner_add_suite(sr, http_stream_options_suite());
    srunner_add_suite(sr, http_stream_unix_suite());
    srunner_add_suite(sr, db_suite());
    srunner_add_suite(sr, services_suite());
    srunner_add_suite(sr, metering_suite());
    srunner_add_suite(sr, gateway_rules_suite());
    srunner_add_suite(sr, encoding_suite());
    srunner_add_suite(sr, sign_suite());
    srunner_add_suite(sr, sign_oracle_suite());
    srunner_add_suite(sr, log_suite());
    srunner_add_suite(sr, redis_cluster_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
