/*
 * fuzz_values.c: libFuzzer target for the parsers of configured values.
 *
 * The whole input (as a NUL-terminated string) goes to every parser in
 * cloudbase/values.h except cb_parse_secret (it reads files and the
 * environment), and to the Redis address and option parsers (options that
 * start with "password=" are skipped for the same reason). The input is
 * also read as a plugin block, one "NAME VALUE" per line, and fed to
 * cb_options_set and cb_options_finish with a table that has every option
 * type but CB_OPT_SECRET and CB_OPT_LIST, with bounds and an enum; the
 * getters must then return values inside the bounds and the choices. Cheap
 * invariants abort with a message. The input also goes to the peer
 * certificate's date parser (core/http_cert.c): a date it accepts is not
 * before 1970.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cb_core.h"
#include "cloudbase/redis.h"
#include "cloudbase/values.h"

static const char *const modes[] = {"fast", "safe", NULL};

static const cb_option_def plugin_options[] = {
    {.name = "Name", .type = CB_OPT_STRING, .default_value = "gateway", .help = "a display name"},
    {.name = "Enabled", .type = CB_OPT_BOOL, .default_value = "on", .help = "turns the plugin on or off"},
    {.name = "Retries", .type = CB_OPT_INT, .default_value = "3", CB_OPT_MIN(0), CB_OPT_MAX(10),
     .help = "how often to retry"},
    {.name = "Timeout", .type = CB_OPT_DURATION, .default_value = "30s", CB_OPT_MIN(1),
     .help = "how long to wait"},
    {.name = "MaxBody", .type = CB_OPT_SIZE, .default_value = "1m", CB_OPT_MAX(1 << 30),
     .help = "the largest request body"},
    {.name = "Mode", .type = CB_OPT_ENUM, .default_value = "safe", .choices = modes,
     .help = "fast or safe"},
    {.name = "Upstream", .type = CB_OPT_URL, .required = 1, .help = "where requests go"},
    {.name = "Comment", .type = CB_OPT_STRING, .help = "an optional note"},
    {0},
};

static apr_pool_t *global_pool;
static apr_pool_t *iteration_pool;

static void require(int condition, const char *what, const char *input)
{
    if (condition)
        return;
    fprintf(stderr, "fuzz_values invariant broken: %s (input '%s')\n", what, input);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&global_pool, NULL);
    apr_pool_create(&iteration_pool, global_pool);
    return 0;
}

static void parse_scalars(const char *text)
{
    int64_t number;
    int flag;
    cb_url url;

    if (cb_parse_duration_ms(text, &number) == NULL)
        require(number >= 0, "negative duration", text);
    if (cb_parse_size(text, &number) == NULL)
        require(number >= 0, "negative size", text);
    if (cb_parse_bool(text, &flag) == NULL)
        require(flag == 0 || flag == 1, "boolean neither 0 nor 1", text);
    cb_parse_int(text, &number);
    require(cb_cert_time_parse(text) >= 0, "certificate date before 1970", text);
    if (cb_parse_url(iteration_pool, text, &url) == NULL) {
        require(url.port >= 1 && url.port <= 65535, "URL port out of range", text);
        require(url.host != NULL && *url.host, "URL without a host", text);
        require(url.path != NULL && url.path[0] == '/', "URL path without a leading '/'", text);
        require(strcmp(url.scheme, "http") == 0 || strcmp(url.scheme, "https") == 0,
                "URL scheme neither http nor https", text);
    }
}

static void parse_redis(const char *text)
{
    cb_redis_config cfg;

    cb_redis_config_defaults(&cfg);
    if (cb_redis_config_parse_url(iteration_pool, text, &cfg) == NULL) {
        if (cfg.unix_path) {
            require(cfg.host == NULL, "unix socket address with a host", text);
            require(cfg.unix_path[0] == '/', "relative unix socket path", text);
        } else {
            require(cfg.host != NULL && *cfg.host, "Redis address without a host", text);
            require(cfg.port >= 1 && cfg.port <= 65535, "Redis port out of range", text);
        }
        require(cfg.db >= 0 && cfg.db <= 65535, "Redis database out of range", text);
    }

    if (strncmp(text, "password=", 9) == 0)
        return;
    cb_redis_config_defaults(&cfg);
    if (cb_redis_config_parse_option(iteration_pool, text, &cfg) == NULL) {
        require(cfg.connect_timeout_ms > 0, "connect timeout not positive", text);
        require(cfg.command_timeout_ms > 0, "command timeout not positive", text);
        require(cfg.retry_interval_ms >= 0, "negative retry interval", text);
        require(cfg.pool_size >= 1 && cfg.pool_size <= 1024, "pool size out of range", text);
    }
}

/* Reads the text as a plugin block: "NAME VALUE" per line. */
static void parse_plugin_block(const char *text)
{
    cb_options *options = cb_options_create(iteration_pool, plugin_options);
    char *block = apr_pstrdup(iteration_pool, text);
    char *line_state = NULL;
    int upstream_set = 0;

    for (char *line = apr_strtok(block, "\n", &line_state); line;
         line = apr_strtok(NULL, "\n", &line_state)) {
        char *space = strchr(line, ' ');
        const char *value = "";
        if (space) {
            *space = '\0';
            value = space + 1;
        }
        if (cb_options_set(options, iteration_pool, line, value) == NULL &&
            strcasecmp(line, "Upstream") == 0)
            upstream_set = 1;
    }

    if (cb_options_finish(options, iteration_pool) != NULL) {
        /* Every default is valid, so only the missing required option fails. */
        require(!upstream_set, "finish failed although the required option was set", text);
        return;
    }
    require(upstream_set, "finish passed without the required option", text);
    require(cb_opt_string(options, "Upstream") != NULL, "no Upstream after finish", text);
    require(cb_opt_string(options, "Name") != NULL, "no Name after finish", text);
    {
        int enabled = cb_opt_bool(options, "Enabled");
        int mode = cb_opt_enum(options, "Mode");
        int64_t retries = cb_opt_int(options, "Retries");
        require(enabled == 0 || enabled == 1, "Enabled neither 0 nor 1", text);
        require(mode == 0 || mode == 1, "Mode outside its choices", text);
        require(strcmp(cb_opt_string(options, "Mode"), modes[mode]) == 0, "Mode word and index differ",
                text);
        require(retries >= 0 && retries <= 10, "Retries outside its bounds", text);
    }
    require(cb_opt_duration_ms(options, "Timeout") >= 1, "Timeout below its minimum", text);
    require(cb_opt_size(options, "MaxBody") >= 0 && cb_opt_size(options, "MaxBody") <= (1 << 30),
            "MaxBody outside its bounds", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);

    parse_scalars(text);
    parse_redis(text);
    parse_plugin_block(text);

    apr_pool_clear(iteration_pool);
    return 0;
}
