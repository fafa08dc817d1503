/*
 * option_line.c: the shape of a plugin's list lines, "WORD... key=value...",
 * as in `function add-two http://127.0.0.1:3000 auth=user` or
 * `bucket photos backend=local`, and the auth levels those lines name.
 * Plugins check what the words and values mean; this file only splits, so
 * every plugin's lines split and fail the same way. See cloudbase/values.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/values.h"

#define LINE_SEPARATORS " \t"

const char *cb_option_line_parse(apr_pool_t *p, const char *line, int min_words, int max_words,
                                 cb_option_line *out)
{
    char *copy = apr_pstrdup(p, line ? line : ""), *state = NULL, *word;
    apr_array_header_t *words = apr_array_make(p, 2, sizeof(const char *));
    apr_array_header_t *keys = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *values = apr_array_make(p, 4, sizeof(const char *));
    memset(out, 0, sizeof(*out));
    for (word = apr_strtok(copy, LINE_SEPARATORS, &state); word;
         word = apr_strtok(NULL, LINE_SEPARATORS, &state)) {
        char *eq = strchr(word, '=');
        /* The first min_words words are words whatever they hold (a URL
         * with a query is for its own parser to refuse); up to max_words,
         * a word without '=' before any setting is one too. */
        if (words->nelts < min_words || (!eq && keys->nelts == 0 && words->nelts < max_words)) {
            APR_ARRAY_PUSH(words, const char *) = word;
            out->word_count = words->nelts;
            continue;
        }
        if (!eq || eq == word || !eq[1])
            return apr_psprintf(p, "'%s' is not a setting=value pair", word);
        *eq = '\0';
        for (int i = 0; i < keys->nelts; i++)
            if (strcmp(APR_ARRAY_IDX(keys, i, const char *), word) == 0)
                return apr_psprintf(p, "%s= is given twice", word);
        APR_ARRAY_PUSH(keys, const char *) = word;
        APR_ARRAY_PUSH(values, const char *) = eq + 1;
    }
    if (words->nelts < min_words)
        return apr_psprintf(p, "expected %d word%s before the settings, found %d", min_words,
                            min_words == 1 ? "" : "s", words->nelts);
    out->word_count = words->nelts;
    out->words = (const char *const *)words->elts;
    out->setting_count = keys->nelts;
    out->keys = (const char *const *)keys->elts;
    out->values = (const char *const *)values->elts;
    return NULL;
}

const char *cb_option_line_get(const cb_option_line *line, const char *key)
{
    for (int i = 0; i < line->setting_count; i++)
        if (strcmp(line->keys[i], key) == 0)
            return line->values[i];
    return NULL;
}

const char *cb_parse_auth_level(const char *text, int allow_switch, cb_auth_level *out)
{
    if (!text)
        text = "";
    if (strcmp(text, "none") == 0 || (allow_switch && strcmp(text, "off") == 0))
        *out = CB_AUTH_NONE;
    else if (strcmp(text, "any") == 0 || (allow_switch && strcmp(text, "on") == 0))
        *out = CB_AUTH_ANY;
    else if (strcmp(text, "user") == 0)
        *out = CB_AUTH_USER;
    else if (strcmp(text, "admin") == 0)
        *out = CB_AUTH_ADMIN;
    else
        return allow_switch ? "auth= takes on, off, none, any, user or admin"
                            : "auth= takes none, any (anonymous users too), user or admin";
    return NULL;
}
