/*
 * loader.c: loads plugin shared objects and checks that each exports a
 * descriptor built for a compatible ABI (same major, same or older minor;
 * see cloudbase.h). The core keeps a zero-padded copy of the descriptor, so
 * members an older plugin does not have read as NULL. A plugin is loaded
 * once per pool (configuration generation): a restart clears the pool,
 * unloads it and the next configuration loads the file anew.
 *
 * Plugins are opened with dlopen(RTLD_NOW | RTLD_LOCAL) rather than apr_dso,
 * which always uses RTLD_GLOBAL: with global symbols, every plugin exports
 * the same descriptor name and one plugin's functions could interpose on
 * another's. Local loading keeps each plugin's symbols to itself; plugins
 * still resolve the cb_* functions from mod_cloudbase.so (or the test host).
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"

#define LOADED_KEY "cloudbase.loaded_plugins"

static int valid_plugin_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return 0;
    return 1;
}

/* The size of an ABI 3.0 descriptor: every plugin of this major has it. */
#define DESCRIPTOR_SIZE_3_0 (offsetof(cb_plugin, resolve) + sizeof(void (*)(void)))

const char *cb_plugin_abi_refusal(apr_pool_t *p, const char *path, const cb_plugin *desc,
                                  int core_major, int core_minor)
{
    if (desc->abi_major != core_major)
        return apr_psprintf(p, "plugin %s was built for plugin ABI %d.%d, but this "
                            "mod_cloudbase provides ABI %d.%d and loads only plugins of major "
                            "version %d: rebuild the plugin against this module's headers",
                            path, desc->abi_major, desc->abi_minor, core_major, core_minor,
                            core_major);
    if (desc->abi_minor > core_minor)
        return apr_psprintf(p, "plugin %s was built for plugin ABI %d.%d, newer than the ABI "
                            "%d.%d this mod_cloudbase provides: upgrade mod_cloudbase, or "
                            "rebuild the plugin against this module's headers", path,
                            desc->abi_major, desc->abi_minor, core_major, core_minor);
    if (desc->abi_minor < 0 || desc->descriptor_size < DESCRIPTOR_SIZE_3_0 ||
        desc->descriptor_size > sizeof(cb_plugin))
        return apr_psprintf(p, "plugin %s has a malformed descriptor (ABI %d.%d, %" APR_SIZE_T_FMT
                            " bytes; this mod_cloudbase provides ABI %d.%d, %" APR_SIZE_T_FMT
                            " bytes): start it with CB_PLUGIN_HEADER and rebuild it", path,
                            desc->abi_major, desc->abi_minor, desc->descriptor_size, core_major,
                            core_minor, sizeof(cb_plugin));
    return NULL;
}

static apr_status_t close_plugin(void *handle)
{
    dlclose(handle);
    return APR_SUCCESS;
}

const char *cb_plugin_load(apr_pool_t *p, const char *dir, const char *name,
                           cb_loaded_plugin **out)
{
    apr_hash_t *loaded = NULL;
    cb_loaded_plugin *lp;
    const cb_plugin *desc;
    cb_plugin *copy;
    const char *err;

    if (!valid_plugin_name(name))
        return apr_psprintf(p, "plugin name '%s' is invalid: use lower-case letters, digits, "
                            "'-' and '_' (the file is NAME.so in CloudBasePluginDir)", name);
    apr_pool_userdata_get((void **)&loaded, LOADED_KEY, p);
    if (!loaded) {
        loaded = apr_hash_make(p);
        apr_pool_userdata_set(loaded, LOADED_KEY, apr_pool_cleanup_null, p);
    }
    lp = apr_hash_get(loaded, name, APR_HASH_KEY_STRING);
    if (lp) {
        *out = lp;
        return NULL;
    }
    lp = apr_pcalloc(p, sizeof(*lp));
    lp->path = apr_pstrcat(p, dir, "/", name, ".so", NULL);
    lp->handle = dlopen(lp->path, RTLD_NOW | RTLD_LOCAL);
    if (!lp->handle)
        return apr_psprintf(p, "cannot load plugin '%s' from %s: %s (is the plugin installed, "
                            "and does CloudBasePluginDir point at it?)", name, lp->path,
                            dlerror());
    apr_pool_cleanup_register(p, lp->handle, close_plugin, apr_pool_cleanup_null);
    desc = dlsym(lp->handle, CB_PLUGIN_SYMBOL);
    if (!desc)
        return apr_psprintf(p, "%s is not a mod_cloudbase plugin: it does not export the "
                            "symbol '%s'", lp->path, CB_PLUGIN_SYMBOL);
    if ((err = cb_plugin_abi_refusal(p, lp->path, desc, CB_PLUGIN_ABI_MAJOR,
                                     CB_PLUGIN_ABI_MINOR)))
        return err;
    /* Members past an older plugin's descriptor stay zero in the copy. */
    copy = apr_pcalloc(p, sizeof(*copy));
    memcpy(copy, desc, desc->descriptor_size);
    desc = copy;
    if (!desc->name || strcmp(desc->name, name) != 0)
        return apr_psprintf(p, "%s calls itself '%s', not '%s'", lp->path,
                            desc->name ? desc->name : "(null)", name);
    lp->desc = desc;
    apr_hash_set(loaded, apr_pstrdup(p, name), APR_HASH_KEY_STRING, lp);
    *out = lp;
    return NULL;
}
