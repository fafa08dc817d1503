/*
 * options.c: plugin option tables. Validates each configured line of a
 * <CloudBasePlugin> block against the plugin's table with the value parsers
 * of values.c, checks bounds and enum words, applies defaults, enforces
 * required options, and serves the typed getters plugins call. The table is
 * the only place a default or a bound is written; a getter asked for a name
 * that is not in the table, or with the wrong type, aborts (a plugin bug,
 * caught by the first test that reaches it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"

const char *cb_option_type_name(cb_option_type t)
{
    switch (t) {
    case CB_OPT_STRING: return "string";
    case CB_OPT_BOOL: return "boolean (on/off)";
    case CB_OPT_INT: return "integer";
    case CB_OPT_DURATION: return "duration (e.g. 30s)";
    case CB_OPT_SIZE: return "size (e.g. 1m)";
    case CB_OPT_URL: return "URL (http:// or https://)";
    case CB_OPT_SECRET: return "secret (file:PATH or env:NAME)";
    case CB_OPT_LIST: return "list entry";
    case CB_OPT_ENUM: return "word from a fixed list";
    }
    return "value";
}

cb_options *cb_options_create(apr_pool_t *p, const cb_option_def *defs)
{
    cb_options *o = apr_pcalloc(p, sizeof(*o));
    o->defs = defs;
    o->values = apr_hash_make(p);
    return o;
}

static const cb_option_def *find_def(const cb_options *o, const char *name)
{
    for (const cb_option_def *d = o->defs; d && d->name; d++)
        if (strcasecmp(d->name, name) == 0)
            return d;
    return NULL;
}

static const char *known_names(apr_pool_t *p, const cb_options *o)
{
    const char *list = NULL;
    for (const cb_option_def *d = o->defs; d && d->name; d++)
        list = list ? apr_pstrcat(p, list, ", ", d->name, NULL) : d->name;
    return list ? list : "(this plugin takes no options)";
}

static const char *choice_list(apr_pool_t *p, const cb_option_def *def)
{
    const char *list = NULL;
    for (int i = 0; def->choices && def->choices[i]; i++)
        list = list ? apr_pstrcat(p, list, ", ", def->choices[i], NULL) : def->choices[i];
    return list ? list : "(no choices: a plugin bug)";
}

static const char *parse_value(apr_pool_t *p, const cb_option_def *def, const char *text,
                               cb_option_value *v)
{
    int flag;
    cb_url url;
    v->def = def;
    v->text = apr_pstrdup(p, text);
    switch (def->type) {
    case CB_OPT_STRING:
        v->string = v->text;
        return NULL;
    case CB_OPT_BOOL: {
        const char *err = cb_parse_bool(text, &flag);
        v->number = flag;
        return err;
    }
    case CB_OPT_INT: return cb_parse_int(text, &v->number);
    case CB_OPT_DURATION: return cb_parse_duration_ms(text, &v->number);
    case CB_OPT_SIZE: return cb_parse_size(text, &v->number);
    case CB_OPT_URL:
        v->string = v->text;
        return cb_parse_url(p, text, &url);
    case CB_OPT_SECRET: {
        const char *err = cb_parse_secret(p, text, &v->string);
        v->text = "(secret)";
        if (!err)
            cb_log_register_secret(v->string);
        return err;
    }
    case CB_OPT_LIST:
        return NULL; /* items are kept by cb_options_set_at */
    case CB_OPT_ENUM:
        for (int i = 0; def->choices && def->choices[i]; i++)
            if (strcasecmp(def->choices[i], text) == 0) {
                v->string = def->choices[i];
                v->number = i;
                return NULL;
            }
        return apr_psprintf(p, "'%s' is not one of %s", text, choice_list(p, def));
    }
    return "unsupported option type";
}

/* A bound written the way the option is configured: 1m, 64k, 1000. */
static const char *bound_text(apr_pool_t *p, cb_option_type type, int64_t n)
{
    static const struct { int64_t unit; const char *suffix; } ms[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}},
        bytes[] = {{1LL << 30, "g"}, {1 << 20, "m"}, {1 << 10, "k"}, {1, ""}};
    const size_t count = type == CB_OPT_DURATION ? 5 : 4;
    if (type != CB_OPT_DURATION && type != CB_OPT_SIZE)
        return apr_psprintf(p, "%" APR_INT64_T_FMT, n);
    for (size_t i = 0; i < count; i++) {
        int64_t unit = type == CB_OPT_DURATION ? ms[i].unit : bytes[i].unit;
        if (n != 0 && n % unit == 0)
            return apr_psprintf(p, "%" APR_INT64_T_FMT "%s", n / unit,
                                type == CB_OPT_DURATION ? ms[i].suffix : bytes[i].suffix);
    }
    return type == CB_OPT_DURATION ? "0ms" : "0";
}

/* NULL when a parsed number lies within the table's bounds. */
static const char *check_bounds(apr_pool_t *p, const cb_option_def *def, int64_t n)
{
    if (def->has_min && n < def->min)
        return apr_psprintf(p, "option '%s' must be at least %s (%s): raise it to %s or more",
                            def->name, bound_text(p, def->type, def->min),
                            def->help ? def->help : def->name,
                            bound_text(p, def->type, def->min));
    if (def->has_max && n > def->max)
        return apr_psprintf(p, "option '%s' must be at most %s (%s): lower it to %s or less",
                            def->name, bound_text(p, def->type, def->max),
                            def->help ? def->help : def->name,
                            bound_text(p, def->type, def->max));
    return NULL;
}

static int has_bounds(const cb_option_def *def)
{
    return def->type == CB_OPT_INT || def->type == CB_OPT_DURATION || def->type == CB_OPT_SIZE;
}

/* Appends one line of a list option; the plugin parses its text. */
static void add_list_item(cb_options *o, apr_pool_t *p, const cb_option_def *def,
                          const char *value, const char *file, int line)
{
    cb_option_value *v = apr_hash_get(o->values, def->name, APR_HASH_KEY_STRING);
    cb_option_item *item;
    if (!v) {
        v = apr_pcalloc(p, sizeof(*v));
        v->def = def;
        v->text = "(list)";
        v->items = apr_array_make(p, 8, sizeof(cb_option_item));
        v->set_explicitly = 1;
        apr_hash_set(o->values, def->name, APR_HASH_KEY_STRING, v);
    }
    item = apr_array_push(v->items);
    item->text = apr_pstrdup(p, value);
    item->file = file;
    item->line = line;
}

const char *cb_options_set(cb_options *o, apr_pool_t *p, const char *name, const char *value)
{
    return cb_options_set_at(o, p, name, value, NULL, 0);
}

int cb_options_is_list(const cb_options *o, const char *name)
{
    const cb_option_def *def = find_def(o, name);
    return def && def->type == CB_OPT_LIST;
}

const char *cb_options_set_at(cb_options *o, apr_pool_t *p, const char *name, const char *value,
                              const char *file, int line)
{
    const cb_option_def *def = find_def(o, name);
    cb_option_value *v;
    const char *err;
    if (!def)
        return apr_psprintf(p, "unknown option '%s'; this plugin's options are: %s",
                            name, known_names(p, o));
    if (def->type == CB_OPT_LIST) {
        if (!*value)
            return apr_psprintf(p, "option '%s' needs a value", def->name);
        add_list_item(o, p, def, value, file, line);
        return NULL;
    }
    if (apr_hash_get(o->values, def->name, APR_HASH_KEY_STRING))
        return apr_psprintf(p, "option '%s' is set twice; keep one line", def->name);
    v = apr_pcalloc(p, sizeof(*v));
    err = parse_value(p, def, value, v);
    if (err)
        return apr_psprintf(p, "option '%s' expects a %s: %s", def->name,
                            cb_option_type_name(def->type), err);
    if (has_bounds(def) && (err = check_bounds(p, def, v->number)))
        return err;
    v->set_explicitly = 1;
    apr_hash_set(o->values, def->name, APR_HASH_KEY_STRING, v);
    return NULL;
}

const char *cb_options_finish(cb_options *o, apr_pool_t *p)
{
    for (const cb_option_def *d = o->defs; d && d->name; d++) {
        cb_option_value *v;
        const char *err;
        if (apr_hash_get(o->values, d->name, APR_HASH_KEY_STRING))
            continue;
        if (d->required)
            return apr_psprintf(p, "missing required option '%s' (%s): add a line '%s VALUE' "
                                "inside the block", d->name, d->help ? d->help : "",
                                d->name);
        if (!d->default_value)
            continue;
        v = apr_pcalloc(p, sizeof(*v));
        err = parse_value(p, d, d->default_value, v);
        if (!err && has_bounds(d))
            err = check_bounds(p, d, v->number);
        if (err)
            return apr_psprintf(p, "plugin bug: default of option '%s' is invalid: %s",
                                d->name, err);
        apr_hash_set(o->values, d->name, APR_HASH_KEY_STRING, v);
    }
    return NULL;
}

/* A getter's name must be in the table and its type among the accepted
 * ones; anything else is a plugin bug, reported and never papered over. */
static const cb_option_def *def_for_getter(const cb_options *o, const char *name,
                                           const char *getter, unsigned accepted_types)
{
    const cb_option_def *def = o && name ? find_def(o, name) : NULL;
    if (!def) {
        fprintf(stderr, "mod_cloudbase: %s(\"%s\"): no such option in the plugin's option "
                "table (a plugin bug: add it to the table or fix the name)\n", getter,
                name ? name : "(null)");
        abort();
    }
    if (!(accepted_types & (1u << def->type))) {
        fprintf(stderr, "mod_cloudbase: %s(\"%s\"): the option is a %s (a plugin bug: use the "
                "getter of its type)\n", getter, def->name, cb_option_type_name(def->type));
        abort();
    }
    return def;
}

#define TYPE_BIT(t) (1u << (t))
#define ANY_TYPE 0xffffffffu

static const cb_option_value *lookup(const cb_options *o, const char *name, const char *getter,
                                     unsigned accepted_types)
{
    const cb_option_def *def = def_for_getter(o, name, getter, accepted_types);
    return apr_hash_get(o->values, def->name, APR_HASH_KEY_STRING);
}

int cb_opt_is_set(const cb_options *o, const char *name)
{
    const cb_option_value *v = lookup(o, name, "cb_opt_is_set", ANY_TYPE);
    return v && v->set_explicitly;
}

const char *cb_opt_string(const cb_options *o, const char *name)
{
    const cb_option_value *v = lookup(o, name, "cb_opt_string", TYPE_BIT(CB_OPT_STRING) |
                                      TYPE_BIT(CB_OPT_URL) | TYPE_BIT(CB_OPT_ENUM));
    return v ? v->string : NULL;
}

const char *cb_opt_secret(const cb_options *o, const char *name)
{
    const cb_option_value *v = lookup(o, name, "cb_opt_secret", TYPE_BIT(CB_OPT_SECRET));
    return v ? v->string : NULL;
}

const apr_array_header_t *cb_opt_list(const cb_options *o, const char *name)
{
    static const apr_array_header_t empty = {NULL, sizeof(cb_option_item), 0, 0, NULL};
    const cb_option_value *v = lookup(o, name, "cb_opt_list", TYPE_BIT(CB_OPT_LIST));
    return v && v->items ? v->items : &empty;
}

static int64_t number(const cb_options *o, const char *name, const char *getter,
                      cb_option_type type)
{
    const cb_option_value *v = lookup(o, name, getter, TYPE_BIT(type));
    return v ? v->number : 0;
}

int cb_opt_bool(const cb_options *o, const char *name)
{
    return (int)number(o, name, "cb_opt_bool", CB_OPT_BOOL);
}

int cb_opt_enum(const cb_options *o, const char *name)
{
    const cb_option_value *v = lookup(o, name, "cb_opt_enum", TYPE_BIT(CB_OPT_ENUM));
    return v ? (int)v->number : -1;
}

int64_t cb_opt_int(const cb_options *o, const char *name)
{
    return number(o, name, "cb_opt_int", CB_OPT_INT);
}

int64_t cb_opt_duration_ms(const cb_options *o, const char *name)
{
    return number(o, name, "cb_opt_duration_ms", CB_OPT_DURATION);
}

int64_t cb_opt_size(const cb_options *o, const char *name)
{
    return number(o, name, "cb_opt_size", CB_OPT_SIZE);
}
