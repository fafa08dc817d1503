/*
 * notify_smtp.c: sends one notifier mail over SMTP with libcurl: STARTTLS
 * when the server offers it (tls=starttls), insisted on (tls=required) or
 * not tried (tls=off), implicit TLS for smtps://, AUTH with user= and
 * password=, and the outbound address guard on the resolved address.
 */
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include <apr_strings.h>

#include "notify_internal.h"

typedef struct smtp_upload {
    const char *data;
    size_t len, sent;
    const cb_cidr_list *allowed_private;
    const char *refused;
} smtp_upload;

static size_t read_mail(char *buf, size_t size, size_t nitems, void *data)
{
    smtp_upload *u = data;
    size_t n = size * nitems, left = u->len - u->sent;
    if (n > left)
        n = left;
    memcpy(buf, u->data + u->sent, n);
    u->sent += n;
    return n;
}

static curl_socket_t open_guarded(void *data, curlsocktype purpose, struct curl_sockaddr *addr)
{
    smtp_upload *u = data;
    (void)purpose;
    if ((u->refused = cb_url_guard_address(&addr->addr, u->allowed_private)))
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype, addr->protocol);
}

const char *cb_notify_smtp_send(apr_pool_t *p, const cb_notify_channel *ch, const char *mail,
                                size_t mail_len, int64_t timeout_ms)
{
    smtp_upload u = {mail, mail_len, 0, ch->allowed_private, NULL};
    struct curl_slist *rcpt = NULL;
    const char *result = NULL;
    CURLcode rc;
    CURL *h = curl_easy_init();
    if (!h)
        return "cannot create an SMTP handle";
    for (int i = 0; i < ch->to->nelts; i++)
        rcpt = curl_slist_append(rcpt, APR_ARRAY_IDX(ch->to, i, const char *));
    curl_easy_setopt(h, CURLOPT_URL, ch->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, ch->from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_mail);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)mail_len);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &u);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (ch->tls != CB_SMTP_TLS_OFF)
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(ch->tls == CB_SMTP_TLS_REQUIRED ? CURLUSESSL_ALL
                                                                                 : CURLUSESSL_TRY));
    if (ch->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, ch->ca_file);
    if (ch->smtp_user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, ch->smtp_user);
        if (ch->smtp_password)
            curl_easy_setopt(h, CURLOPT_PASSWORD, ch->smtp_password);
    }
    rc = curl_easy_perform(h);
    if (u.refused)
        result = apr_pstrdup(p, u.refused);
    else if (rc != CURLE_OK)
        result = apr_pstrdup(p, curl_easy_strerror(rc)); /* never holds the password */
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return result;
}
