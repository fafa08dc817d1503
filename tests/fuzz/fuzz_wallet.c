/*
 * fuzz_wallet.c: libFuzzer target for the wallet plugin's parsers
 * (plugins/wallet/parse.c): every input is an amount for
 * wallet_parse_amount, a top-up or charge body and an alert body for
 * wallet_parse_body, a `meter` line for wallet_parse_meter, a path
 * matched against an accepted meter's pattern, and a day of the usage
 * route (wallet_parse_day).
 *
 * Invariants: an accepted amount is 1 to 2^53 - 1 and its text is exactly
 * its decimal digits (no sign, fraction, exponent or leading zero); an
 * accepted body's amount obeys the same bounds (a threshold may be 0) and
 * its description has at most 200 bytes and no control character; an
 * accepted meter has a price and a cap from 1 to 2^53 - 1 (for N/call the
 * cap is the price), a pattern that starts with '/' without empty
 * segments, and matches its own pattern written out (a '*' segment read as
 * "x"); the cost of a call is never negative nor above the cap; an
 * accepted day starts at midnight UTC and prints back as written.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "wallet.h"

#define FUZZ_TARGET_NAME "fuzz_wallet"
#include "fuzz_support.h"

static void check_amount(const char *data, size_t size, const char *text)
{
    int64_t v = 0;
    if (wallet_parse_amount(data, size, &v))
        return;
    require(v >= 1 && v <= WALLET_MAX_AMOUNT, "an amount out of range", text);
    require(strcmp(apr_psprintf(iteration_pool, "%" APR_INT64_T_FMT, v), text) == 0 &&
                strlen(text) == size,
            "an amount whose text is not its digits", text);
}

static void check_body(const char *data, size_t size, const char *text)
{
    int64_t n = -1;
    const char *description = NULL;
    if (!wallet_parse_body(iteration_pool, data, size, "amount", 0, &n, &description)) {
        require(n >= 1 && n <= WALLET_MAX_AMOUNT, "a body amount out of range", text);
        if (description) {
            require(strlen(description) <= 200, "a description past 200 bytes", text);
            for (const char *c = description; *c; c++)
                require((unsigned char)*c >= 0x20 && *c != 0x7f,
                        "a control character in a description", text);
        }
    }
    n = -1;
    if (!wallet_parse_body(iteration_pool, data, size, "threshold", 1, &n, NULL))
        require(n >= 0 && n <= WALLET_MAX_AMOUNT, "a threshold out of range", text);
}

static void check_meter(const char *text)
{
    wallet_meter m;
    cb_response_record rec = {.status = 200, .duration = 1234567, .bytes_in = 5,
                              .bytes_out = 3 << 20};
    const char *own;
    int64_t cost;
    if (wallet_parse_meter(iteration_pool, text, &m))
        return;
    require(m.price >= 1 && m.price <= WALLET_MAX_AMOUNT, "a price out of range", text);
    require(m.cap >= 1 && m.cap <= WALLET_MAX_AMOUNT, "a cap out of range", text);
    require(m.unit != WALLET_PER_CALL || m.cap == m.price, "an N/call cap is not N", text);
    require(m.pattern[0] == '/' && m.nsegments >= 1, "a pattern without a segment", text);
    own = "";
    for (int i = 0; i < m.nsegments; i++) {
        require(*m.segments[i] != '\0', "an empty pattern segment", text);
        own = apr_pstrcat(iteration_pool, own, "/",
                          strcmp(m.segments[i], "*") == 0 ? "x" : m.segments[i], NULL);
    }
    require(wallet_meter_matches(&m, own), "a pattern that does not match itself", text);
    cost = wallet_meter_cost(&m, &rec);
    require(cost >= 0 && cost <= m.cap, "a cost outside 0..cap", text);
}

static void check_path(const char *text)
{
    static wallet_meter m;
    static int ready;
    if (!ready) {
        apr_pool_t *p;
        apr_pool_create(&p, NULL);
        if (wallet_parse_meter(p, "/v1/*/run/* 1/call", &m))
            abort();
        ready = 1;
    }
    if (wallet_meter_matches(&m, text))
        require(strncmp(text, "/v1/", 4) == 0 && strstr(text + 4, "/run/") &&
                    text[4] != '/',
                "a path matched that the pattern does not name", text);
}

static void check_day(const char *text)
{
    int64_t ms;
    apr_time_exp_t t;
    if (wallet_parse_day(text, &ms))
        return;
    require(ms >= 0 && ms % 86400000 == 0, "a day that does not start at midnight UTC", text);
    apr_time_exp_gmt(&t, apr_time_from_msec(ms));
    require(strcmp(apr_psprintf(iteration_pool, "%04d-%02d-%02d", t.tm_year + 1900,
                                t.tm_mon + 1, t.tm_mday), text) == 0,
            "a day that is not the one written", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_amount((const char *)data, size, text);
    check_body((const char *)data, size, text);
    check_meter(text);
    check_path(text);
    check_day(text);
    apr_pool_clear(iteration_pool);
    return 0;
}
