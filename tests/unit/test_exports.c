/*
 * test_exports.c: mod_cloudbase.so exports the public API and nothing else.
 * Lists the module's dynamic symbols with `nm -D --defined-only` and checks
 * them against the functions the public headers declare with CB_API, plus
 * httpd's module record cloudbase_module: an exported internal function
 * fails the test, and so does a public function the module does not export.
 * Under AddressSanitizer, the ODR indicator of an allowed global is allowed.
 * The module is CB_MODULE (as for the integration tests) or, by default,
 * the one next to this test binary's build.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <check.h>

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

/* Symbols the toolchain may put into any shared object. */
static const char *const toolchain_symbols[] = {"_init", "_fini", "__bss_start", "_edata",
                                                "_end", NULL};

#define ASAN_ODR_PREFIX "__odr_asan."

static int is_allowed(apr_hash_t *declared, const char *name)
{
    return strcmp(name, "cloudbase_module") == 0 ||
           apr_hash_get(declared, name, APR_HASH_KEY_STRING) != NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long size;
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = apr_pcalloc(pool, (apr_size_t)size + 1);
    ck_assert_int_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return text;
}

static int is_identifier_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* name -> "" for every "CB_API ... name(" declaration in the headers. */
static apr_hash_t *declared_public_functions(void)
{
    apr_hash_t *names = apr_hash_make(pool);
    DIR *dir = opendir(CB_PUBLIC_HEADER_DIR);
    struct dirent *entry;
    ck_assert_msg(dir != NULL, "cannot open %s", CB_PUBLIC_HEADER_DIR);
    while ((entry = readdir(dir))) {
        const char *text, *at;
        size_t len = strlen(entry->d_name);
        if (len < 3 || strcmp(entry->d_name + len - 2, ".h") != 0)
            continue;
        text = read_file(apr_pstrcat(pool, CB_PUBLIC_HEADER_DIR, "/", entry->d_name, NULL));
        for (at = strstr(text, "CB_API "); at; at = strstr(at + 1, "CB_API ")) {
            const char *paren = strchr(at, '('), *end, *start;
            const char *line_end = strchr(at, '\n');
            if (!paren || (line_end && paren > line_end))
                continue; /* the macro's own definition or a comment */
            end = paren;
            while (end > at && end[-1] == ' ')
                end--;
            start = end;
            while (start > at && is_identifier_char(start[-1]))
                start--;
            if (start < end && strncmp(start, "__", 2) != 0) /* not the macro's __attribute__ */
                apr_hash_set(names, apr_pstrmemdup(pool, start, (apr_size_t)(end - start)),
                             APR_HASH_KEY_STRING, "");
        }
    }
    closedir(dir);
    return names;
}

START_TEST(module_exports_only_the_public_api)
{
    const char *module = getenv("CB_MODULE") ? getenv("CB_MODULE") : CB_DEFAULT_MODULE;
    apr_hash_t *declared = declared_public_functions();
    apr_hash_t *exported = apr_hash_make(pool);
    const char *unexpected = "", *missing = "";
    char line[512];
    FILE *nm;
    int status;

    /* Positive controls: the parser found the declarations it must. */
    ck_assert_ptr_nonnull(apr_hash_get(declared, "cb_req_method", APR_HASH_KEY_STRING));
    ck_assert_ptr_nonnull(apr_hash_get(declared, "cb_opt_int", APR_HASH_KEY_STRING));
    ck_assert_ptr_nonnull(apr_hash_get(declared, "cb_parse_url", APR_HASH_KEY_STRING));
    ck_assert_uint_gt(apr_hash_count(declared), 40);

    nm = popen(apr_psprintf(pool, "nm -D --defined-only '%s' 2>&1", module), "r");
    ck_assert_ptr_nonnull(nm);
    while (fgets(line, sizeof(line), nm)) {
        char address[64], type[8], name[256];
        int toolchain = 0;
        if (sscanf(line, "%63s %7s %255s", address, type, name) != 3)
            ck_abort_msg("unexpected nm output for %s: %s", module, line);
        apr_hash_set(exported, apr_pstrdup(pool, name), APR_HASH_KEY_STRING, "");
        for (int i = 0; toolchain_symbols[i]; i++)
            toolchain |= strcmp(name, toolchain_symbols[i]) == 0;
        if (toolchain || is_allowed(declared, name))
            continue;
        /* AddressSanitizer's ODR indicator of an exported global. */
        if (strncmp(name, ASAN_ODR_PREFIX, strlen(ASAN_ODR_PREFIX)) == 0 &&
            is_allowed(declared, name + strlen(ASAN_ODR_PREFIX)))
            continue;
        unexpected = apr_pstrcat(pool, unexpected, " ", name, NULL);
    }
    status = pclose(nm);
    ck_assert_msg(status == 0, "nm -D --defined-only %s failed (status %d)", module, status);
    ck_assert_ptr_nonnull(apr_hash_get(exported, "cloudbase_module", APR_HASH_KEY_STRING));
    for (apr_hash_index_t *hi = apr_hash_first(pool, declared); hi; hi = apr_hash_next(hi)) {
        const char *name = apr_hash_this_key(hi);
        if (!apr_hash_get(exported, name, APR_HASH_KEY_STRING))
            missing = apr_pstrcat(pool, missing, " ", name, NULL);
    }
    ck_assert_msg(!*unexpected, "%s exports symbols that no public header declares with CB_API "
                  "(make them static, or declare them in include/cloudbase/ with CB_API):%s",
                  module, unexpected);
    ck_assert_msg(!*missing, "%s does not export these CB_API functions (is the declaration "
                  "included where they are defined?):%s", module, missing);
}
END_TEST

Suite *exports_suite(void)
{
    Suite *s = suite_create("exports");
    TCase *tc = tcase_create("symbols");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, module_exports_only_the_public_api);
    suite_add_tcase(s, tc);
    return s;
}
