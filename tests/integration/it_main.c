/*
 * it_main.c: runs the integration suites (real apache2, redis-server and
 * upstream on loopback). Needs CB_MODULE, CB_PLUGIN_DIRS and
 * CB_TEST_UPSTREAM; scripts/test.sh sets them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>

#include "harness.h"

Suite *config_suite(void);
Suite *gateway_suite(void);
Suite *redis_down_suite(void);
Suite *lifecycle_suite(void);
Suite *browser_suite(void);
Suite *auth_suite(void);
Suite *functions_suite(void);
Suite *storage_suite(void);
Suite *storage_backends_suite(void);
Suite *storage_s3_suite(void);
Suite *model_suite(void);
Suite *model_cache_suite(void);
Suite *uptime_suite(void);
Suite *uptime_api_suite(void);
Suite *uptime_page_suite(void);
Suite *uptime_notify_suite(void);
Suite *services_suite(void);
Suite *ratelimit_suite(void);
Suite *tenants_suite(void);
Suite *auth_durable_suite(void);
Suite *hygiene_suite(void);
Suite *ops_suite(void);
Suite *demo_suite(void);
Suite *signin_suite(void);
Suite *jobs_suite(void);
Suite *notify_suite(void);
Suite *streaming_suite(void);
Suite *database_suite(void);
Suite *metering_suite(void);
Suite *cluster_suite(void);
Suite *token_expiry_suite(void);
Suite *wallet_suite(void);

int main(void)
{
    SRunner *sr;
    int failed;
    char registry[64];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(registry, sizeof(registry), "/tmp/cb-it-registry-%d", (int)getpid());
    setenv("CB_IT_REGISTRY", registry, 1);
    sr = srunner_create(config_suite());
    srunner_add_suite(sr, gateway_suite());
    srunner_add_suite(sr, redis_down_suite());
    srunner_add_suite(sr, lifecycle_suite());
    srunner_add_suite(sr, browser_suite());
    srunner_add_suite(sr, auth_suite());
    srunner_add_suite(sr, functions_suite());
    srunner_add_suite(sr, storage_suite());
    srunner_add_suite(sr, storage_backends_suite());
    srunner_add_suite(sr, storage_s3_suite());
    srunner_add_suite(sr, model_suite());
    srunner_add_suite(sr, model_cache_suite());
    srunner_add_suite(sr, uptime_suite());
    srunner_add_suite(sr, uptime_api_suite());
    srunner_add_suite(sr, uptime_page_suite());
    srunner_add_suite(sr, uptime_notify_suite());
    srunner_add_suite(sr, services_suite());
    srunner_add_suite(sr, ratelimit_suite());
    srunner_add_suite(sr, tenants_suite());
    srunner_add_suite(sr, auth_durable_suite());
    srunner_add_suite(sr, hygiene_suite());
    srunner_add_suite(sr, ops_suite());
    srunner_add_suite(sr, demo_suite());
    srunner_add_suite(sr, signin_suite());
    srunner_add_suite(sr, jobs_suite());
    srunner_add_suite(sr, notify_suite());
    srunner_add_suite(sr, streaming_suite());
    srunner_add_suite(sr, database_suite());
    srunner_add_suite(sr, metering_suite());
    srunner_add_suite(sr, cluster_suite());
    srunner_add_suite(sr, token_expiry_suite());
    srunner_add_suite(sr, wallet_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    it_cleanup_registry();
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
