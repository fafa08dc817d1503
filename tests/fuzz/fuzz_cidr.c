/*
 * fuzz_cidr.c: libFuzzer target for cb_cidr_list_parse (core/url_guard.c),
 * which reads a service's allowed private ranges from configuration.
 *
 * The whole input is the list text. Invariants:
 *  - parsing is deterministic (twice, the same verdict and count);
 *  - an accepted list has at most 64 entries and no more entries than the
 *    text has words;
 *  - whatever the list, the guard still refuses the metadata and
 *    link-local addresses (a list can only open private ranges).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "cloudbase/http.h"

#define FUZZ_TARGET_NAME "fuzz_cidr"
#include "fuzz_support.h"

static int words(const char *s)
{
    int n = 0, in_word = 0;
    for (; *s; s++) {
        int sep = strchr(", \t\r\n\v\f", *s) != NULL;
        if (!sep && !in_word)
            n++;
        in_word = !sep;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    cb_cidr_list *first = NULL, *second = NULL;
    const char *err1 = cb_cidr_list_parse(iteration_pool, text, &first);
    const char *err2 = cb_cidr_list_parse(iteration_pool, text, &second);
    require((err1 == NULL) == (err2 == NULL), "parsing is not deterministic", text);
    if (!err1) {
        static const char *const v4[] = {"169.254.169.254", "0.0.0.0", "100.100.100.200"};
        static const char *const v6[] = {"fe80::1", "::", "fd00:ec2::254",
                                         "::ffff:169.254.169.254"};
        struct sockaddr_in a4;
        struct sockaddr_in6 a6;
        require(cb_cidr_list_count(first) == cb_cidr_list_count(second),
                "two parses disagree on the count", text);
        require(cb_cidr_list_count(first) <= 64, "more than 64 entries", text);
        require(cb_cidr_list_count(first) <= words(text), "more entries than words", text);
        memset(&a4, 0, sizeof(a4));
        memset(&a6, 0, sizeof(a6));
        a4.sin_family = AF_INET;
        a6.sin6_family = AF_INET6;
        for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
            inet_pton(AF_INET, v4[i], &a4.sin_addr);
            require(cb_url_guard_address((struct sockaddr *)&a4, first) != NULL,
                    "a list opened a metadata or link-local IPv4 address", text);
        }
        for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
            inet_pton(AF_INET6, v6[i], &a6.sin6_addr);
            require(cb_url_guard_address((struct sockaddr *)&a6, first) != NULL,
                    "a list opened a metadata or link-local IPv6 address", text);
        }
    } else {
        require(first == NULL, "a refused list was returned", text);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
