/*
 * fuzz_notify.c: libFuzzer target for the notifier's parsers and builders
 * (core/notify_config.c, core/notify_render.c).
 *
 * The first input byte picks what the rest is:
 *  0: a 429 answer, "HEADER\0BODY": cb_notify_retry_after_ms is -1 or
 *     within 0..3600000 ms;
 *  1: a channel line: when accepted, the type is known, name and URL are
 *     non-empty and hold no blank or control character, an email channel
 *     has a from= and at least one to= address with '@'; a mail built for
 *     that channel ends every line with CRLF and keeps every header on one
 *     line (no header injection from the addresses);
 *  2: a stored message (JSON): when readable, the Discord and webhook
 *     bodies built from it are JSON with one embed, and the mail has CRLF
 *     line ends only and exactly the seven headers the builder writes.
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "notify_internal.h"

#define FUZZ_TARGET_NAME "fuzz_notify"
#include "fuzz_support.h"

static int clean_word(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Every LF follows a CR, and the header block (to the first blank line)
 * has exactly `headers` lines, each "Name: value". */
static void check_mail(const char *mail, int headers, const char *input)
{
    const char *end = strstr(mail, "\r\n\r\n");
    int lines = 0;
    for (const char *c = mail; *c; c++)
        if (*c == '\n')
            require(c > mail && c[-1] == '\r', "mail: a bare LF", input);
        else if (*c == '\r')
            require(c[1] == '\n', "mail: a bare CR", input);
    require(end != NULL, "mail: no end of headers", input);
    for (const char *line = mail; line <= end; line = strstr(line, "\r\n") + 2) {
        const char *colon = strchr(line, ':');
        require(colon && colon < strstr(line, "\r\n") && colon > line,
                "mail: a header line without a name", input);
        lines++;
    }
    require(lines == headers, "mail: an extra header line", input);
}

static const cb_notify_item sample = {CB_NOTIFY_DOWN, "svc", NULL, "https://a.example/", "x", 1,
                                      1733050000};

static void fuzz_channel(const char *line)
{
    cb_notify_channel ch;
    if (cb_notify_channel_parse(iteration_pool, line, &ch))
        return;
    require(ch.type >= CB_CHANNEL_DISCORD && ch.type <= CB_CHANNEL_EMAIL, "unknown type", line);
    require(clean_word(ch.name) && clean_word(ch.url), "a blank in the name or URL", line);
    if (ch.type == CB_CHANNEL_WEBHOOK)
        require(ch.secret && *ch.secret, "a webhook without a secret", line);
    if (ch.type != CB_CHANNEL_EMAIL)
        return;
    require(clean_word(ch.from) && strchr(ch.from, '@'), "a bad from address", line);
    require(ch.to && ch.to->nelts > 0, "no to address", line);
    for (int i = 0; i < ch.to->nelts; i++) {
        const char *to = APR_ARRAY_IDX(ch.to, i, const char *);
        require(clean_word(to) && strchr(to, '@') && !strchr(to, ','), "a bad to address", line);
    }
    check_mail(cb_notify_mail(iteration_pool, &ch, &sample, 1, 1733050000, "id@x", "B"), 7, line);
}

static void fuzz_item(const char *text, size_t len)
{
    cb_json *doc = cb_json_parse(iteration_pool, text, len, NULL);
    cb_notify_item items[2];
    cb_notify_channel ch;
    const char *body;
    cb_json *parsed;
    if (!doc || !cb_notify_item_from_json(doc, &items[0]))
        return;
    items[1] = items[0];
    for (int count = 1; count <= 2; count++) {
        body = cb_notify_discord_body(iteration_pool, NULL, items, count);
        parsed = body ? cb_json_parse(iteration_pool, body, strlen(body), NULL) : NULL;
        require(parsed && cb_json_array_size(cb_json_get(parsed, "embeds")) == 1,
                "discord: not JSON with one embed", text);
        body = cb_notify_webhook_body(iteration_pool, items, count);
        require(body && cb_json_parse(iteration_pool, body, strlen(body), NULL),
                "webhook: not JSON", text);
    }
    require(cb_notify_channel_parse(iteration_pool, "email m smtp://mail.example.com:25 "
                                    "from=a@example.com to=b@example.com", &ch) == NULL,
            "the fixed mail channel was refused", text);
    check_mail(cb_notify_mail(iteration_pool, &ch, items, 2, 1733050000, "id@x", "B"), 7, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rest;
    if (size < 1)
        return 0;
    rest = apr_pstrmemdup(iteration_pool, (const char *)data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: {
        size_t header_len = strlen(rest);
        const char *body = header_len < size - 1 ? rest + header_len + 1 : NULL;
        int64_t ms = cb_notify_retry_after_ms(rest, body, body ? size - 2 - header_len : 0);
        require(ms == -1 || (ms >= 0 && ms <= 3600000), "retry-after out of range", rest);
        break;
    }
    case 1:
        fuzz_channel(rest);
        break;
    default:
        fuzz_item(rest, size - 1);
        break;
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
