/*
 * url_guard.c: the outbound address guard for URLs that users supply
 * (monitors, webhooks, runners; cb_http_request.untrusted_url). Link-local,
 * cloud metadata and unspecified addresses are refused always; loopback and
 * private ranges are refused unless the service lists them in its allowed
 * private ranges (a CIDR list, parsed strictly here). IPv4 inside IPv6
 * (mapped, compatible, NAT64) is judged as the IPv4 address it carries.
 * Addresses are checked after resolution, so DNS tricks and odd spellings
 * of an IP (decimal, octal, hex) do not get around the guard.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

#include <apr_strings.h>
#include <curl/curl.h>

#include "cloudbase/http.h"

#define MAX_CIDR_ENTRIES 64

typedef struct cidr {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} cidr;

struct cb_cidr_list {
    int count;
    cidr entries[MAX_CIDR_ENTRIES];
};

/* An address as family + bytes, with IPv4 carried in IPv6 unwrapped. */
typedef struct plain_addr {
    int family;
    unsigned char b[16];
} plain_addr;

static int plain_from_sockaddr(const struct sockaddr *sa, plain_addr *out)
{
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6) ||
            memcmp(a6->s6_addr, nat64, 12) == 0) {
            out->family = AF_INET;
            memcpy(out->b, a6->s6_addr + 12, 4);
            return 1;
        }
        /* :: and ::1 stay IPv6 (IN6_IS_ADDR_V4COMPAT excludes them). */
        out->family = AF_INET6;
        memcpy(out->b, a6->s6_addr, 16);
        return 1;
    }
    return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
    int whole = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)whole) != 0)
        return 0;
    if (bits) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        return (a[whole] & mask) == (net[whole] & mask);
    }
    return 1;
}

int cb_address_private(const struct sockaddr *sa)
{
    plain_addr a;
    if (!plain_from_sockaddr(sa, &a))
        return 0;
    if (a.family == AF_INET) {
        const unsigned char *b = a.b;
        return b[0] == 10 || b[0] == 127 ||                   /* 10/8, 127/8 */
               (b[0] == 172 && (b[1] & 0xf0) == 16) ||        /* 172.16/12 */
               (b[0] == 192 && b[1] == 168) ||                /* 192.168/16 */
               (b[0] == 100 && (b[1] & 0xc0) == 64) ||        /* 100.64/10 CGNAT */
               (b[0] == 198 && (b[1] & 0xfe) == 18);          /* 198.18/15 */
    }
    return IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a.b) ||
           (a.b[0] & 0xfe) == 0xfc ||                          /* fc00::/7 ULA */
           (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0xc0);        /* fec0::/10 */
}

int cb_cidr_list_contains(const cb_cidr_list *list, const struct sockaddr *sa)
{
    plain_addr a;
    if (!list || !plain_from_sockaddr(sa, &a))
        return 0;
    for (int i = 0; i < list->count; i++) {
        const cidr *c = &list->entries[i];
        if (c->family == a.family && prefix_match(a.b, c->addr, c->prefix))
            return 1;
    }
    return 0;
}

const char *cb_url_guard_address(const struct sockaddr *sa, const cb_cidr_list *allowed_private)
{
    plain_addr a;
    struct sockaddr_in v4;
    if (!plain_from_sockaddr(sa, &a))
        return "refused: not an IP address";
    memset(&v4, 0, sizeof(v4));
    v4.sin_family = AF_INET;
    memcpy(&v4.sin_addr, a.b, 4);
    if (cb_address_forbidden(sa) ||
        (a.family == AF_INET && cb_address_forbidden((const struct sockaddr *)&v4)))
        return "refused: the URL resolves to a link-local or metadata address";
    if (cb_address_private(sa) && !cb_cidr_list_contains(allowed_private, sa))
        return "refused: the URL resolves to a private address outside this service's "
               "allowed ranges";
    return NULL;
}

const char *cb_url_guard_host(const char *host)
{
    static const char *const metadata_hosts[] = {
        "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
        "instance-data.ec2.internal", "metadata.azure.internal", "metadata.tencentyun.com",
        NULL};
    size_t n;
    if (!host)
        return NULL;
    n = strlen(host);
    while (n && host[n - 1] == '.')
        n--;
    for (int i = 0; metadata_hosts[i]; i++)
        if (strlen(metadata_hosts[i]) == n && strncasecmp(host, metadata_hosts[i], n) == 0)
            return "refused: the URL names a cloud metadata service";
    return NULL;
}

const char *cb_url_guard_host_as_written(const char *host, const cb_cidr_list *allowed_private)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    memset(&v4, 0, sizeof(v4));
    memset(&v6, 0, sizeof(v6));
    if (!host)
        return NULL;
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        return cb_url_guard_address((const struct sockaddr *)&v4, allowed_private);
    }
    if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        return cb_url_guard_address((const struct sockaddr *)&v6, allowed_private);
    }
    return cb_url_guard_host(host);
}

const char *cb_url_guard_url(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    const char *refused;
    if (!u)
        return "cannot parse the URL";
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        refused = "refused: the URL cannot be parsed";
    else
        refused = cb_url_guard_host(host);
    curl_free(host);
    curl_url_cleanup(u);
    return refused;
}

/* "0" or a decimal without a leading zero, at most max. */
static int parse_prefix(const char *s, int max)
{
    int v = 0;
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v;
}

static const char *parse_entry(apr_pool_t *p, const char *text, cidr *out)
{
    char *copy = apr_pstrdup(p, text);
    char *slash = strchr(copy, '/');
    int max;
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, copy, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    }
    else if (strchr(copy, ':') && inet_pton(AF_INET6, copy, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    }
    else {
        return apr_psprintf(p, "'%s' is not an IPv4 or IPv6 address (write 10.0.0.0/8 or "
                            "fd00::/8)", text);
    }
    out->prefix = slash ? parse_prefix(slash + 1, max) : max;
    if (out->prefix < 0)
        return apr_psprintf(p, "'%s': the prefix length must be 0 to %d", text, max);
    if (out->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out->addr))
        return apr_psprintf(p, "'%s': write IPv4 ranges in IPv4 form", text);
    for (int bit = out->prefix; bit < max; bit++)
        if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
            return apr_psprintf(p, "'%s' has bits set past its /%d prefix", text, out->prefix);
    return NULL;
}

const char *cb_cidr_list_parse(apr_pool_t *p, const char *text, cb_cidr_list **out)
{
    cb_cidr_list *list = apr_pcalloc(p, sizeof(*list));
    const char *at = text ? text : "";
    *out = NULL;
    while (*at) {
        size_t n;
        const char *error;
        while (*at == ',' || isspace((unsigned char)*at))
            at++;
        if (!*at)
            break;
        n = strcspn(at, ", \t\r\n\v\f");
        if (list->count == MAX_CIDR_ENTRIES)
            return apr_psprintf(p, "more than %d address ranges", MAX_CIDR_ENTRIES);
        if (n > 64)
            return "an address range is longer than 64 characters";
        error = parse_entry(p, apr_pstrmemdup(p, at, n), &list->entries[list->count]);
        if (error)
            return error;
        list->count++;
        at += n;
    }
    *out = list;
    return NULL;
}

int cb_cidr_list_count(const cb_cidr_list *list)
{
    return list ? list->count : 0;
}
