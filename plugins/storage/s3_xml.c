/*
 * s3_xml.c: the S3 endpoint's XML answers, as S3 writes them: an error
 * document (<Error><Code>..</Code><Message>..</Message><Resource>..
 * </Resource><RequestId>..</RequestId></Error>, with x-amz-request-id)
 * and ListObjectsV2's ListBucketResult.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "cloudbase/encoding.h"
#include "s3.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

const char *st_xml_escape(apr_pool_t *p, const char *text)
{
    size_t len = 0;
    char *out, *w;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        len += *c == '&' ? 5 : *c == '<' || *c == '>' ? 4 : *c == '"' || *c == '\'' ? 6
             : *c < 0x20 ? 6 : 1;
    out = w = apr_palloc(p, len + 1);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        switch (*c) {
        case '&': memcpy(w, "&amp;", 5); w += 5; break;
        case '<': memcpy(w, "&lt;", 4); w += 4; break;
        case '>': memcpy(w, "&gt;", 4); w += 4; break;
        case '"': memcpy(w, "&quot;", 6); w += 6; break;
        case '\'': memcpy(w, "&apos;", 6); w += 6; break;
        default:
            if (*c < 0x20) {
                /* object paths hold none; other text may (XML 1.1 style) */
                apr_snprintf(w, 7, "&#x%02X;", *c);
                w += 6;
            }
            else {
                *w++ = (char)*c;
            }
        }
    }
    *w = '\0';
    return out;
}

cb_status st_s3_send_error(cb_req *req, int status, const char *code, const char *message)
{
    apr_pool_t *p = cb_req_pool(req);
    const char *body = apr_pstrcat(p, XML_DECL "<Error><Code>", code, "</Code><Message>",
                                   st_xml_escape(p, message), "</Message><Resource>",
                                   st_xml_escape(p, cb_req_path(req)), "</Resource><RequestId>",
                                   st_xml_escape(p, cb_req_id(req)), "</RequestId></Error>",
                                   NULL);
    cb_req_set_status(req, status);
    cb_req_set_header(req, "x-amz-request-id", cb_req_id(req));
    cb_req_set_header(req, "Content-Type", "application/xml");
    cb_req_write(req, body, strlen(body));
    return CB_DONE;
}

/* Text for an element: url-encoded when the listing asked for it, then
 * XML-escaped. */
static const char *field(apr_pool_t *p, const st_s3_list_query *q, const char *text)
{
    if (q->url_encoding)
        text = cb_percent_encode(p, text, strlen(text), CB_PERCENT_KEEP_SLASH);
    return st_xml_escape(p, text);
}

static const char *iso_time(apr_pool_t *p, int64_t seconds)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_sec(seconds));
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

#define PUSH(parts, text) (APR_ARRAY_PUSH(parts, const char *) = (text))

const char *st_s3_list_xml(apr_pool_t *p, const st_s3_list_query *q, const st_s3_list_page *page)
{
    int key_count = page->contents->nelts + page->common_prefixes->nelts;
    /* pieces joined once at the end: a page of 1000 keys stays linear */
    apr_array_header_t *parts = apr_array_make(p, 16 + 2 * key_count, sizeof(const char *));
    PUSH(parts, apr_psprintf(p, XML_DECL "<ListBucketResult xmlns=\"" S3_NS "\">"
                             "<Name>%s</Name><Prefix>%s</Prefix>",
                             st_xml_escape(p, page->bucket), field(p, q, q->prefix)));
    if (q->delimiter)
        PUSH(parts, apr_pstrcat(p, "<Delimiter>", field(p, q, q->delimiter), "</Delimiter>",
                                NULL));
    PUSH(parts, apr_psprintf(p, "<MaxKeys>%d</MaxKeys><KeyCount>%d</KeyCount>"
                             "<IsTruncated>%s</IsTruncated>", q->max_keys, key_count,
                             page->truncated ? "true" : "false"));
    if (q->url_encoding)
        PUSH(parts, "<EncodingType>url</EncodingType>");
    if (q->continuation_token)
        PUSH(parts, apr_pstrcat(p, "<ContinuationToken>", st_xml_escape(p, q->continuation_token),
                                "</ContinuationToken>", NULL));
    if (page->truncated && page->next_token)
        PUSH(parts, apr_pstrcat(p, "<NextContinuationToken>", page->next_token,
                                "</NextContinuationToken>", NULL));
    if (q->start_after)
        PUSH(parts, apr_pstrcat(p, "<StartAfter>", field(p, q, q->start_after), "</StartAfter>",
                                NULL));
    for (int i = 0; i < page->contents->nelts; i++) {
        const st_s3_entry *e = &APR_ARRAY_IDX(page->contents, i, st_s3_entry);
        PUSH(parts, apr_psprintf(p, "<Contents><Key>%s</Key><LastModified>%s</LastModified>"
                                 "<ETag>%s</ETag><Size>%" APR_INT64_T_FMT "</Size>"
                                 "<StorageClass>STANDARD</StorageClass></Contents>",
                                 field(p, q, e->key), iso_time(p, e->modified),
                                 st_xml_escape(p, e->etag ? e->etag : "\"\""), e->size));
    }
    for (int i = 0; i < page->common_prefixes->nelts; i++)
        PUSH(parts, apr_pstrcat(p, "<CommonPrefixes><Prefix>",
                                field(p, q, APR_ARRAY_IDX(page->common_prefixes, i,
                                                          const char *)),
                                "</Prefix></CommonPrefixes>", NULL));
    PUSH(parts, "</ListBucketResult>");
    return apr_array_pstrcat(p, parts, 0);
}
