/*
 * notify_config.c: the notifier's channel lines (notify_internal.h,
 * docs/notifications.md): discord, webhook and email channels, their URLs
 * checked by the outbound guard's host check, their secrets read through
 * cb_parse_secret (errors never hold a secret's value).
 */
#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "cloudbase/values.h"
#include "notify_internal.h"

/* "user@host", without blanks, controls or the characters that would
 * change an SMTP command or a header. */
int cb_notify_address_ok(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *c = a; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("<>,;\"()[]\\", *c))
            return 0;
    return 1;
}

static const char *parse_addresses(apr_pool_t *p, const char *text, apr_array_header_t **out)
{
    char *copy = apr_pstrdup(p, text), *state = NULL, *word;
    *out = apr_array_make(p, 2, sizeof(const char *));
    for (word = apr_strtok(copy, ",", &state); word; word = apr_strtok(NULL, ",", &state)) {
        if (!cb_notify_address_ok(word))
            return apr_psprintf(p, "'%s' is not an e-mail address", word);
        APR_ARRAY_PUSH(*out, const char *) = word;
    }
    return (*out)->nelts ? NULL : "to= names no address";
}

static const char *parse_secret_setting(apr_pool_t *p, const cb_option_line *line, const char *key,
                                        const char **out)
{
    const char *text = cb_option_line_get(line, key), *err;
    *out = NULL;
    if (!text)
        return NULL;
    if ((err = cb_parse_secret(p, text, out)))
        return apr_psprintf(p, "%s=: %s", key, err);
    if (!**out)
        return apr_psprintf(p, "%s= is empty", key);
    return NULL;
}

/* smtp://HOST[:PORT] or smtps://HOST[:PORT], nothing after the port. */
static const char *check_smtp_url(apr_pool_t *p, const char *url)
{
    const char *rest, *refused;
    if (strncmp(url, "smtp://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "smtps://", 8) == 0)
        rest = url + 8;
    else
        return "the mail server must be smtp://HOST:PORT or smtps://HOST:PORT";
    if (!*rest || strpbrk(rest, "/?#@ \t\r\n"))
        return "the mail server must be smtp://HOST:PORT or smtps://HOST:PORT";
    if ((refused = cb_url_guard_url(url)))
        return apr_pstrcat(p, "mail server: ", refused, NULL);
    return NULL;
}

const char *cb_notify_check_web_url(apr_pool_t *p, const char *url, const cb_cidr_list *allowed)
{
    cb_url parsed;
    const char *err = cb_parse_url(p, url, &parsed);
    if (err)
        return apr_pstrcat(p, "webhook URL: ", err, NULL);
    if ((err = cb_url_guard_url(url)) || (err = cb_url_guard_host_as_written(parsed.host, allowed)))
        return apr_pstrcat(p, "webhook URL: ", err, NULL);
    return NULL;
}

static int known_key(const char *key, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(key, *allowed) == 0)
            return 1;
    return 0;
}

const char *cb_notify_channel_parse(apr_pool_t *p, const char *text, cb_notify_channel *out)
{
    static const char *const discord_keys[] = {"username", "private", NULL};
    static const char *const webhook_keys[] = {"secret", "private", NULL};
    static const char *const email_keys[] = {"from", "to", "user", "password", "tls", "ca",
                                             "private", NULL};
    const char *const *allowed;
    cb_option_line line;
    const char *err, *type, *value;
    memset(out, 0, sizeof(*out));
    if ((err = cb_option_line_parse(p, text, 3, 3, &line)))
        return err;
    if (line.word_count != 3)
        return "a channel line is TYPE NAME URL [setting=value...]";
    type = line.words[0];
    out->name = line.words[1];
    out->url = line.words[2];
    if (strcmp(type, "discord") == 0) {
        out->type = CB_CHANNEL_DISCORD;
        allowed = discord_keys;
    } else if (strcmp(type, "webhook") == 0) {
        out->type = CB_CHANNEL_WEBHOOK;
        allowed = webhook_keys;
    } else if (strcmp(type, "email") == 0) {
        out->type = CB_CHANNEL_EMAIL;
        allowed = email_keys;
    } else {
        return apr_psprintf(p, "unknown channel type '%s' (discord, webhook or email)", type);
    }
    for (int i = 0; i < line.setting_count; i++)
        if (!known_key(line.keys[i], allowed))
            return apr_psprintf(p, "unknown setting '%s' for a %s channel", line.keys[i], type);
    for (const char *c = out->name; *c; c++)
        if (!apr_isalnum(*c) && *c != '-' && *c != '_')
            return apr_psprintf(p, "channel name '%s': use letters, digits, '-' and '_'",
                                out->name);
    if ((value = cb_option_line_get(&line, "private"))) {
        cb_cidr_list *ranges;
        if ((err = cb_cidr_list_parse(p, value, &ranges)))
            return apr_pstrcat(p, "private=: ", err, NULL);
        out->allowed_private = ranges;
    }
    if (out->type == CB_CHANNEL_EMAIL) {
        apr_array_header_t *to;
        if ((err = check_smtp_url(p, out->url)))
            return err;
        if (!(out->from = cb_option_line_get(&line, "from")) || !cb_notify_address_ok(out->from))
            return "an email channel needs from=ADDRESS";
        if (!(value = cb_option_line_get(&line, "to")))
            return "an email channel needs to=ADDRESS[,ADDRESS]";
        if ((err = parse_addresses(p, value, &to)))
            return err;
        out->to = to;
        out->smtp_user = cb_option_line_get(&line, "user");
        if ((err = parse_secret_setting(p, &line, "password", &out->smtp_password)))
            return err;
        if (out->smtp_password && !out->smtp_user)
            return "password= needs user=";
        value = cb_option_line_get(&line, "tls");
        if (!value || strcmp(value, "starttls") == 0)
            out->tls = CB_SMTP_TLS_STARTTLS;
        else if (strcmp(value, "required") == 0)
            out->tls = CB_SMTP_TLS_REQUIRED;
        else if (strcmp(value, "off") == 0)
            out->tls = CB_SMTP_TLS_OFF;
        else
            return "tls= is starttls, required or off";
        if ((out->ca_file = cb_option_line_get(&line, "ca")) && access(out->ca_file, R_OK) != 0)
            return apr_psprintf(p, "ca=%s cannot be read", out->ca_file);
        return NULL;
    }
    if ((err = cb_notify_check_web_url(p, out->url, out->allowed_private)))
        return err;
    if (out->type == CB_CHANNEL_DISCORD) {
        out->username = cb_option_line_get(&line, "username");
        return NULL;
    }
    if ((err = parse_secret_setting(p, &line, "secret", &out->secret)))
        return err;
    if (!out->secret)
        return "a webhook channel needs secret=SECRET (file:PATH or env:NAME) to sign with";
    return NULL;
}
