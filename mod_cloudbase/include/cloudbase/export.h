/*
 * export.h: CB_API, the one macro that marks a function of the public API.
 *
 * mod_cloudbase.so is built with -fvisibility=hidden: only the functions
 * declared with CB_API in the headers of include/cloudbase are exported, so plugins
 * see the public API and nothing else. Every public header includes this.
 */
#ifndef CLOUDBASE_EXPORT_H
#define CLOUDBASE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CB_API __attribute__((visibility("default")))
#else
#define CB_API
#endif

#endif
