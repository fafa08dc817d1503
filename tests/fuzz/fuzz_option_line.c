/*
 * fuzz_option_line.c: libFuzzer target for the plugins' list-line parser
 * (cb_option_line_parse, core/option_line.c) and the auth levels those lines
 * name (cb_parse_auth_level).
 *
 * The first input byte picks min_words (0-3) and max_words (min to min+2);
 * the rest, as a NUL-terminated string, is the line. Invariants for an
 * accepted line:
 *  - min_words <= words <= max_words; no word is empty or holds a space or
 *    a tab, and the words past min_words hold no '=';
 *  - every key is non-empty without '=' or blanks, every value non-empty
 *    without blanks, and no key appears twice;
 *  - the line written back (words, then key=value, single spaces) parses
 *    to the same words and settings (round trip).
 * cb_parse_auth_level accepts exactly none/any/user/admin, plus on/off with
 * the switch, compared with an independent table.
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/values.h"

#define FUZZ_TARGET_NAME "fuzz_option_line"
#include "fuzz_support.h"

static int blank_free(const char *s)
{
    return *s && !strpbrk(s, " \t");
}

static void check_auth_level(const char *text)
{
    static const struct {
        const char *word;
        cb_auth_level level;
        int switch_only;
    } table[] = {{"none", CB_AUTH_NONE, 0}, {"any", CB_AUTH_ANY, 0}, {"user", CB_AUTH_USER, 0},
                 {"admin", CB_AUTH_ADMIN, 0}, {"off", CB_AUTH_NONE, 1}, {"on", CB_AUTH_ANY, 1}};
    for (int allow_switch = 0; allow_switch < 2; allow_switch++) {
        int expected = -1;
        cb_auth_level level = CB_AUTH_ADMIN;
        const char *err = cb_parse_auth_level(text, allow_switch, &level);
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
            if (strcmp(text, table[i].word) == 0 && (allow_switch || !table[i].switch_only))
                expected = (int)table[i].level;
        require((err == NULL) == (expected >= 0), "auth levels: the wrong words accepted", text);
        require(err != NULL || (int)level == expected, "auth levels: the wrong level", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int min_words, max_words;
    const char *line;
    cb_option_line parsed, again;
    if (size < 1)
        return 0;
    min_words = data[0] & 3;
    max_words = min_words + ((data[0] >> 2) % 3);
    line = apr_pstrmemdup(iteration_pool, (const char *)data + 1, size - 1);
    check_auth_level(line);
    if (cb_option_line_parse(iteration_pool, line, min_words, max_words, &parsed)) {
        apr_pool_clear(iteration_pool);
        return 0;
    }
    require(parsed.word_count >= min_words && parsed.word_count <= max_words,
            "word count out of range", line);
    {
        const char *rebuilt = "";
        for (int i = 0; i < parsed.word_count; i++) {
            require(blank_free(parsed.words[i]) &&
                        (i < min_words || !strchr(parsed.words[i], '=')),
                    "a word is empty, holds a blank, or holds '=' past min_words", line);
            rebuilt = apr_pstrcat(iteration_pool, rebuilt, i ? " " : "", parsed.words[i], NULL);
        }
        for (int i = 0; i < parsed.setting_count; i++) {
            require(blank_free(parsed.keys[i]) && !strchr(parsed.keys[i], '='),
                    "a key is empty or holds '=' or a blank", line);
            require(blank_free(parsed.values[i]), "a value is empty or holds a blank", line);
            for (int j = 0; j < i; j++)
                require(strcmp(parsed.keys[i], parsed.keys[j]) != 0, "a key appears twice",
                        line);
            rebuilt = apr_pstrcat(iteration_pool, rebuilt, *rebuilt ? " " : "", parsed.keys[i],
                                  "=", parsed.values[i], NULL);
        }
        require(cb_option_line_parse(iteration_pool, rebuilt, min_words, max_words, &again) ==
                    NULL, "the line written back is refused", line);
        require(again.word_count == parsed.word_count &&
                    again.setting_count == parsed.setting_count,
                "the line written back has other counts", line);
        for (int i = 0; i < parsed.word_count; i++)
            require(strcmp(again.words[i], parsed.words[i]) == 0, "a word changed", line);
        for (int i = 0; i < parsed.setting_count; i++)
            require(strcmp(again.keys[i], parsed.keys[i]) == 0 &&
                        strcmp(again.values[i], parsed.values[i]) == 0,
                    "a setting changed", line);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
