/*
 * it_main.c: runs the integration suites (real apache2, redis-server and
 * upstream on loopback). Needs CB_MODULE, CB_PLUGIN_DIRS and
 * CB_TEST_UPSTREAM; scripts/test.sh sets them.
 *
 * `integration_tests --list` prints the suites' names, longest-running
 * first, so that scripts/test.sh can run them as separate processes, a few
 * at a time (each with CK_RUN_SUITE=NAME); without it every suite runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
Suite *model_browser_suite(void);
Suite *uptime_suite(void);
Suite *uptime_api_suite(void);
Suite *uptime_page_suite(void);
Suite *uptime_live_suite(void);
Suite *uptime_notify_suite(void);
Suite *uptime_checks_suite(void);
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
Suite *containers_suite(void);
Suite *containers_live_suite(void);
Suite *invoke_suite(void);
Suite *containers_static_suite(void);
Suite *wallet_keys_suite(void);
Suite *wallet_tokens_suite(void);

/* Each suite under the name it gives suite_create (CK_RUN_SUITE matches
 * that name; a wrong name here makes scripts/test.sh's run of it find no
 * test, which fails the run). Ordered by running time, longest first. */
static const struct {
    const char *name;
    Suite *(*make)(void);
} integration_suites[] = {
    {"signin", signin_suite},
    {"token_expiry", token_expiry_suite},
    {"uptime", uptime_suite},
    {"hygiene", hygiene_suite},
    {"auth", auth_suite},
    {"storage", storage_suite},
    {"uptime_notify", uptime_notify_suite},
    {"redis-down", redis_down_suite},
    {"notify", notify_suite},
    {"auth-durable", auth_durable_suite},
    {"model_cache", model_cache_suite},
    {"demo", demo_suite},
    {"wallet", wallet_suite},
    {"wallet_keys", wallet_keys_suite},
    {"wallet_tokens", wallet_tokens_suite},
    {"model", model_suite},
    {"uptime_checks", uptime_checks_suite},
    {"uptime_live", uptime_live_suite},
    {"model_browser", model_browser_suite},
    {"storage_s3", storage_s3_suite},
    {"storage_backends", storage_backends_suite},
    {"containers", containers_suite},
    {"containers_live", containers_live_suite},
    {"invoke", invoke_suite},
    {"uptime_api", uptime_api_suite},
    {"containers_static", containers_static_suite},
    {"uptime_page", uptime_page_suite},
    {"database", database_suite},
    {"jobs", jobs_suite},
    {"ratelimit", ratelimit_suite},
    {"browser", browser_suite},
    {"functions", functions_suite},
    {"gateway", gateway_suite},
    {"services", services_suite},
    {"lifecycle", lifecycle_suite},
    {"streaming", streaming_suite},
    {"ops", ops_suite},
    {"cluster", cluster_suite},
    {"configtest", config_suite},
    {"metering", metering_suite},
    {"tenants", tenants_suite},
};

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    int failed;
    char registry[64];
    size_t count = sizeof(integration_suites) / sizeof(integration_suites[0]);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", integration_suites[i].name);
        return EXIT_SUCCESS;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(registry, sizeof(registry), "/tmp/cb-it-registry-%d", (int)getpid());
    setenv("CB_IT_REGISTRY", registry, 1);
    for (size_t i = 0; i < count; i++) {
        Suite *suite = integration_suites[i].make();
        if (sr)
            srunner_add_suite(sr, suite);
        else
            sr = srunner_create(suite);
    }
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    it_cleanup_registry();
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
