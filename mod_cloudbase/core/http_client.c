/*
 * http_client.c: outbound HTTP on libcurl (see cloudbase/http.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <curl/curl.h>

#include "cloudbase/http.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_RESPONSE (1024 * 1024)

struct cb_http_client {
    apr_thread_mutex_t *lock;
    CURL **idle;
    int idle_count, max_idle;
};

typedef struct transfer {
    apr_pool_t *pool;
    char *body;
    size_t len, cap, max;
    int too_large;
    const char *refused;           /* the guard's reason */
    const cb_cidr_list *allowed_private;
    apr_table_t *headers;
} transfer;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static apr_status_t client_cleanup(void *data)
{
    cb_http_client *c = data;
    for (int i = 0; i < c->idle_count; i++)
        curl_easy_cleanup(c->idle[i]);
    c->idle_count = 0;
    return APR_SUCCESS;
}

cb_http_client *cb_http_client_create(apr_pool_t *p, int max_idle_handles)
{
    cb_http_client *c = apr_pcalloc(p, sizeof(*c));
    pthread_once(&curl_once, curl_init_once);
    c->max_idle = max_idle_handles > 0 ? max_idle_handles : 8;
    c->idle = apr_pcalloc(p, sizeof(CURL *) * (size_t)c->max_idle);
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p);
    apr_pool_cleanup_register(p, c, client_cleanup, apr_pool_cleanup_null);
    return c;
}

/* An IPv4 address (host order) that no untrusted URL may reach. */
static int ipv4_forbidden(uint32_t a)
{
    return (a >> 16) == 0xA9FE ||   /* 169.254.0.0/16 link-local, metadata */
           (a >> 24) == 0 ||        /* 0.0.0.0/8 */
           a == 0x646464C8u;        /* 100.100.100.200: Alibaba metadata */
}

int cb_address_forbidden(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        struct in_addr in;
        memcpy(&in, &((const struct sockaddr_in *)sa)->sin_addr, sizeof(in));
        return ipv4_forbidden(ntohl(in.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        unsigned char b[16];
        static const unsigned char unspecified[16] = {0};
        static const unsigned char aws_metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
                                                       0, 0, 0, 0, 0, 0, 0x02, 0x54};
        memcpy(b, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)   /* fe80::/10 */
            return 1;
        if (memcmp(b, unspecified, 16) == 0 || memcmp(b, aws_metadata, 16) == 0)
            return 1;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)b) ||
            IN6_IS_ADDR_V4COMPAT((const struct in6_addr *)b)) {
            /* Judged as the IPv4 address inside, read byte by byte (a
             * sockaddr_in viewed as a sockaddr broke under -O2 aliasing and
             * refused every mapped address). */
            return ipv4_forbidden((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                                  (uint32_t)b[14] << 8 | b[15]);
        }
        return 0;
    }
    return 1; /* only IP sockets */
}

static curl_socket_t open_guarded_socket(void *data, curlsocktype purpose,
                                         struct curl_sockaddr *addr)
{
    transfer *t = data;
    (void)purpose;
    if ((t->refused = cb_url_guard_address(&addr->addr, t->allowed_private)))
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
    transfer *t = data;
    size_t n = size * nmemb;
    if (t->len + n > t->max) {
        t->too_large = 1;
        return 0;
    }
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        char *grown;
        while (cap < t->len + n + 1)
            cap *= 2;
        grown = apr_palloc(t->pool, cap);
        if (t->len)
            memcpy(grown, t->body, t->len);
        t->body = grown;
        t->cap = cap;
    }
    memcpy(t->body + t->len, ptr, n);
    t->len += n;
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *data)
{
    transfer *t = data;
    size_t n = size * nmemb;
    char *line = apr_pstrmemdup(t->pool, ptr, n), *colon = strchr(line, ':');
    if (strncmp(line, "HTTP/", 5) == 0)
        apr_table_clear(t->headers); /* a new response (after 100 Continue) */
    else if (colon) {
        char *value = colon + 1;
        *colon = '\0';
        while (*value == ' ' || *value == '\t')
            value++;
        value[strcspn(value, "\r\n")] = '\0';
        for (char *c = line; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        apr_table_add(t->headers, line, value);
    }
    return n;
}

static CURL *take_handle(cb_http_client *c)
{
    CURL *h = NULL;
    apr_thread_mutex_lock(c->lock);
    if (c->idle_count)
        h = c->idle[--c->idle_count];
    apr_thread_mutex_unlock(c->lock);
    if (h)
        curl_easy_reset(h); /* keeps the connection cache */
    else
        h = curl_easy_init();
    return h;
}

static void give_back(cb_http_client *c, CURL *h)
{
    apr_thread_mutex_lock(c->lock);
    if (c->idle_count < c->max_idle) {
        c->idle[c->idle_count++] = h;
        h = NULL;
    }
    apr_thread_mutex_unlock(c->lock);
    if (h)
        curl_easy_cleanup(h);
}

static struct curl_slist *build_headers(const apr_table_t *headers)
{
    struct curl_slist *list = NULL;
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    if (!headers)
        return NULL;
    arr = apr_table_elts(headers);
    e = (const apr_table_entry_t *)arr->elts;
    for (int i = 0; i < arr->nelts; i++) {
        char line[8192];
        if (strpbrk(e[i].key, "\r\n") || strpbrk(e[i].val, "\r\n"))
            continue; /* header injection */
        apr_snprintf(line, sizeof(line), "%s: %s", e[i].key, e[i].val);
        list = curl_slist_append(list, line);
    }
    return list;
}

apr_status_t cb_http_fetch(cb_http_client *c, apr_pool_t *p, const cb_http_request *req,
                           cb_http_response *resp, const char **error)
{
    transfer t;
    CURL *h;
    CURLcode rc;
    struct curl_slist *headers;
    const char *method = req->method ? req->method : "GET";
    memset(resp, 0, sizeof(*resp));
    memset(&t, 0, sizeof(t));
    t.pool = p;
    t.max = req->max_response_bytes ? req->max_response_bytes : DEFAULT_MAX_RESPONSE;
    t.headers = apr_table_make(p, 8);
    *error = NULL;
    h = take_handle(c);
    if (!h) {
        *error = "cannot create an HTTP handle";
        return APR_ENOMEM;
    }
    if (req->untrusted_url && (*error = cb_url_guard_url(req->url))) {
        give_back(c, h);
        return APR_EACCES;
    }
    t.allowed_private = req->allowed_private;
    headers = build_headers(req->headers);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->connect_timeout_ms ? req->connect_timeout_ms
                                                    : DEFAULT_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (req->untrusted_url) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &t);
        /* A pooled connection skips the socket callback: never reuse one
         * for an untrusted URL, nor leave its connection for later calls. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &resp->total_seconds);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &resp->new_connections);
    /* Drop per-call pointers before the handle goes back to the pool. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    give_back(c, h);
    if (t.refused) {
        *error = t.refused;
        return APR_EACCES;
    }
    if (t.too_large) {
        *error = apr_psprintf(p, "response larger than %" APR_SIZE_T_FMT " bytes", t.max);
        return APR_ENOSPC;
    }
    if (rc != CURLE_OK) {
        *error = rc == CURLE_OPERATION_TIMEDOUT ? "timed out" : curl_easy_strerror(rc);
        return rc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
    }
    resp->headers = t.headers;
    resp->body = t.body ? t.body : "";
    if (t.body)
        t.body[t.len] = '\0';
    resp->body_len = t.len;
    return APR_SUCCESS;
}
