/*
 * options.c: plugin option tables. Validates each configured line of a
 * <CloudBasePlugin> block against the plugin's table with the value parsers
 * of values.c, applies defaults, enforces required options, and serves the
 * typed getters plugins call.
 */
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
    }
    return "unsupported option type";
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
        if (err)
            return apr_psprintf(p, "plugin bug: default of option '%s' is invalid: %s",
                                d->name, err);
        apr_hash_set(o->values, d->name, APR_HASH_KEY_STRING, v);
    }
    return NULL;
}

static const cb_option_value *lookup(const cb_options *o, const char *name)
{
    return o ? apr_hash_get(o->values, name, APR_HASH_KEY_STRING) : NULL;
}

const char *cb_opt_string(const cb_options *o, const char *name)
{
    const cb_option_value *v = lookup(o, name);
    return v ? v->string : NULL;
}

const char *cb_opt_secret(const cb_options *o, const char *name)
{
    return cb_opt_string(o, name);
}

const apr_array_header_t *cb_opt_list(const cb_options *o, const char *name)
{
    static const apr_array_header_t empty = {NULL, sizeof(cb_option_item), 0, 0, NULL};
    const cb_option_value *v = lookup(o, name);
    return v && v->items ? v->items : &empty;
}

int cb_opt_bool(const cb_options *o, const char *name, int fallback)
{
    const cb_option_value *v = lookup(o, name);
    return v ? (int)v->number : fallback;
}

int64_t cb_opt_int(const cb_options *o, const char *name, int64_t fallback)
{
    const cb_option_value *v = lookup(o, name);
    return v ? v->number : fallback;
}

int64_t cb_opt_duration_ms(const cb_options *o, const char *name, int64_t fallback)
{
    return cb_opt_int(o, name, fallback);
}

int64_t cb_opt_size(const cb_options *o, const char *name, int64_t fallback)
{
    return cb_opt_int(o, name, fallback);
}
