/*
 * test_storage.c: the storage plugin's pure parts (plugins/storage):
 * object paths and ids (bare paths, cloud://{env}.{bucket}/{path}, '..',
 * a leading '/', backslash, NUL, control characters, overlong paths,
 * another environment's id), the URL keys a download URL carries, the
 * access presets, and the binding of the upload and download signatures
 * (method, env, bucket, object, expiry, length, type).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <check.h>

#include "../../mod_cloudbase/core/db_internal.h"
#include "storage.h"

static apr_pool_t *pool;
static void setup(void) { apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); }

static const char *id_problem(const char *text, size_t len)
{
    st_object_id id;
    return st_parse_object_id(pool, "demo", text, len, &id);
}

#define BAD_ID(s) ck_assert_msg(id_problem(s, sizeof(s) - 1) != NULL, "accepted %s", s)

START_TEST(object_ids)
{
    st_object_id id;
    char *longest = apr_palloc(pool, ST_MAX_PATH + 2);
    ck_assert_ptr_null(st_parse_object_id(pool, "demo", "a/b.txt", 7, &id));
    ck_assert_str_eq(id.bucket, "");
    ck_assert_str_eq(id.path, "a/b.txt");
    ck_assert_ptr_null(st_parse_object_id(pool, "demo", "cloud://demo.photos/x/y z.png", 29,
                                          &id));
    ck_assert_str_eq(id.bucket, "photos");
    ck_assert_str_eq(id.path, "x/y z.png");
    /* an env whose name continues past "demo" is another env */
    ck_assert_str_eq(id_problem("cloud://demo2.photos/a", 22),
                     "the object id belongs to another environment");
    ck_assert_str_eq(id_problem("cloud://other.photos/a", 22),
                     "the object id belongs to another environment");
    BAD_ID("cloud://demo./a");
    ck_assert_ptr_null(id_problem("cloud://demo.pho/tos", 20)); /* bucket pho, path tos */
    BAD_ID("cloud://demo.a b/x");
    BAD_ID("cloud://demo.photos");
    BAD_ID("cloud://demo.photos/");
    BAD_ID("http://x/a");
    BAD_ID("");
    BAD_ID("/etc/passwd");
    BAD_ID("../x");
    BAD_ID("a/../../x");
    BAD_ID("a/..");
    BAD_ID("a/./b");
    BAD_ID("a//b");
    BAD_ID("a/");
    BAD_ID("a\\b");
    BAD_ID("..\\x");
    BAD_ID("a\x01" "b");
    BAD_ID("a\nb");
    BAD_ID("a\x7f");
    BAD_ID("cloud://demo.photos/../x");
    ck_assert_ptr_nonnull(id_problem("a\0b", 3));  /* NUL inside */
    ck_assert_ptr_null(id_problem("a..b/...c/.d", 12));   /* dots inside names are fine */
    memset(longest, 'a', ST_MAX_PATH + 1);
    ck_assert_ptr_null(id_problem(longest, ST_MAX_PATH));
    ck_assert_ptr_nonnull(id_problem(longest, ST_MAX_PATH + 1));
}
END_TEST

START_TEST(url_keys)
{
    const char *plain = "a/b-c_d.e~f(g)!*';:@&=+$,";
    const char *odd[] = {"a b", "100%", "q?x", "h#1", "\xe4\xb8\xad.txt", "~home", "a\"b", NULL};
    ck_assert_str_eq(st_url_key(pool, plain), plain);
    ck_assert_str_eq(st_path_of_url_key(pool, plain), plain);
    for (int i = 0; odd[i]; i++) {
        const char *key = st_url_key(pool, odd[i]);
        ck_assert_msg(key[0] == '~', "%s -> %s", odd[i], key);
        ck_assert_int_eq(strspn(key, "~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_"), strlen(key));
        ck_assert_str_eq(st_path_of_url_key(pool, key), odd[i]);
    }
    /* keys st_url_key never makes */
    ck_assert_ptr_null(st_path_of_url_key(pool, "a%20b"));
    ck_assert_ptr_null(st_path_of_url_key(pool, "~YQ"));       /* "a": would be plain */
    ck_assert_ptr_null(st_path_of_url_key(pool, "~Li4vZXRj")); /* "../etc" */
    ck_assert_ptr_null(st_path_of_url_key(pool, "a/../b"));
    ck_assert_ptr_null(st_path_of_url_key(pool, "~!!"));
    ck_assert_ptr_null(st_path_of_url_key(pool, ""));
}
END_TEST

START_TEST(access_presets)
{
    cb_identity none = {0}, alice = {.kind = CB_IDENTITY_USER, .uid = "alice"},
                bob = {.kind = CB_IDENTITY_USER, .uid = "bob"},
                admin = {.kind = CB_IDENTITY_ADMIN, .uid = "admin"};
    st_acl acl;
    ck_assert_ptr_null(st_parse_acl("private", &acl));
    ck_assert_int_eq(acl, ST_ACL_PRIVATE);
    ck_assert_ptr_nonnull(st_parse_acl("PUBLIC", &acl));
    /* READONLY: everyone reads, the creator writes */
    ck_assert(st_may_read(ST_ACL_READONLY, &none, "alice"));
    ck_assert(st_may_write(ST_ACL_READONLY, &alice, "alice"));
    ck_assert(!st_may_write(ST_ACL_READONLY, &bob, "alice"));
    ck_assert(st_may_write(ST_ACL_READONLY, &bob, NULL));
    ck_assert(!st_may_write(ST_ACL_READONLY, &none, NULL));
    /* PRIVATE: only the creator */
    ck_assert(st_may_read(ST_ACL_PRIVATE, &alice, "alice"));
    ck_assert(!st_may_read(ST_ACL_PRIVATE, &bob, "alice"));
    ck_assert(!st_may_read(ST_ACL_PRIVATE, &none, "alice"));
    ck_assert(!st_may_read(ST_ACL_PRIVATE, &bob, NULL));
    ck_assert(st_may_read(ST_ACL_PRIVATE, &admin, "alice"));
    /* ADMINWRITE and ADMINONLY */
    ck_assert(st_may_read(ST_ACL_ADMINWRITE, &bob, "alice"));
    ck_assert(!st_may_write(ST_ACL_ADMINWRITE, &alice, "alice"));
    ck_assert(st_may_write(ST_ACL_ADMINWRITE, &admin, "alice"));
    ck_assert(!st_may_read(ST_ACL_ADMINONLY, &alice, "alice"));
    ck_assert(st_may_read(ST_ACL_ADMINONLY, &admin, NULL));
}
END_TEST

static const char key[] = "0123456789abcdef0123456789abcdef";

static st_upload_grant grant(void)
{
    st_upload_grant g = {.env = "demo", .bucket = "photos", .path = "a/b.txt",
                         .expires = 2000, .binds = ST_SIGN_LENGTH | ST_SIGN_TYPE,
                         .length = 2, .type = "text/plain"};
    return g;
}

static const char *verify(const char *auth, st_upload_grant g, int64_t now)
{
    return st_verify_upload(pool, key, sizeof(key) - 1, auth, &g, now);
}

START_TEST(upload_signature_binding)
{
    st_upload_grant g = grant(), h;
    const char *auth = st_sign_upload(pool, key, sizeof(key) - 1, &g);
    char *forged;
    ck_assert_ptr_nonnull(strstr(auth, "CB-HMAC-SHA256 Expires=2000, "
                                       "SignedHeaders=content-length;content-type, Signature="));
    ck_assert_ptr_null(verify(auth, g, 1999));
    ck_assert_ptr_null(verify(auth, g, 2000));
    ck_assert_str_eq(verify(auth, g, 2001), "the upload authorization has expired");
    h = g; h.length = 3;
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.length = -1;
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.type = "text/html";
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.type = NULL;
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.path = "a/c.txt";
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.bucket = "other";
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    h = g; h.env = "demo2";
    ck_assert_ptr_nonnull(verify(auth, h, 1000));
    /* a later expiry or fewer signed headers written into the header */
    forged = apr_pstrdup(pool, auth);
    forged[strlen("CB-HMAC-SHA256 Expires=")] = '9';
    ck_assert_ptr_nonnull(verify(forged, g, 1000));
    forged = apr_psprintf(pool, "CB-HMAC-SHA256 Expires=2000, SignedHeaders=, Signature=%s",
                          strstr(auth, "Signature=") + 10);
    ck_assert_ptr_nonnull(verify(forged, g, 1000));
    forged = apr_pstrdup(pool, auth);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
    ck_assert_ptr_nonnull(verify(forged, g, 1000));
    ck_assert_ptr_nonnull(verify(NULL, g, 1000));
    ck_assert_ptr_nonnull(verify("Bearer x", g, 1000));
    ck_assert_ptr_nonnull(verify("CB-HMAC-SHA256 Expires=02000, SignedHeaders=, Signature=00",
                                 g, 1000));
    /* another key */
    ck_assert_ptr_nonnull(st_verify_upload(pool, "another-key-another-key-another-k", 33, auth,
                                           &g, 1000));
    /* unbound length and type: any length and type pass */
    g.binds = 0;
    auth = st_sign_upload(pool, key, sizeof(key) - 1, &g);
    h = g; h.length = 12345; h.type = "image/png";
    ck_assert_ptr_null(verify(auth, h, 1000));
}
END_TEST

START_TEST(download_signature_binding)
{
    const char *sig = st_sign_download(pool, key, sizeof(key) - 1, "demo", "photos", "a/b",
                                       2000);
    ck_assert_int_eq(strlen(sig), 64);
    ck_assert_ptr_null(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos", "a/b",
                                          "2000", sig, 1500));
    ck_assert_str_eq(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos", "a/b",
                                        "2000", sig, 2001), "the download URL has expired");
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos",
                                             "a/c", "2000", sig, 1500));
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "other", "a/b",
                                             "2000", sig, 1500));
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos",
                                             "a/b", "2001", sig, 1500));
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos",
                                             "a/b", "+2000", sig, 1500));
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos",
                                             "a/b", "2000", NULL, 1500));
    ck_assert_ptr_nonnull(st_verify_download(pool, key, sizeof(key) - 1, "demo", "photos",
                                             "a/b", "2000", "ABCD", 1500));
}
END_TEST

/* The plugin's migrations on a fresh SQLite file, then the metadata calls. */
START_TEST(metadata_in_sqlite)
{
    char dir[] = "/tmp/cb-storage-meta-XXXXXX", line[256];
    cb_db_config cfg;
    cb_db *db;
    st_meta m;
    int64_t used;
    const char *err;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(line, sizeof(line), "sqlite3:%s/meta.db", dir);
    ck_assert_ptr_null(cb_db_config_parse(pool, line, &cfg));
    ck_assert_ptr_null(cb_db_create(pool, &cfg, &db));
    cb_db_add_migrations(db, "storage", st_migrations, 1);  /* one step so far */
    err = cb_db_child_init(db, pool);
    ck_assert_msg(err == NULL, "%s", err);
    ck_assert_int_eq(st_meta_get(db, pool, "demo", "b", "x.txt", &m), APR_SUCCESS);
    ck_assert_int_eq(m.exists, 0);
    ck_assert_int_eq(st_meta_claim(db, pool, "demo", "b", "x.txt", "alice"), APR_SUCCESS);
    ck_assert_int_eq(st_meta_claim(db, pool, "demo", "b", "x.txt", "bob"), APR_SUCCESS);
    ck_assert_int_eq(st_meta_get(db, pool, "demo", "b", "x.txt", &m), APR_SUCCESS);
    ck_assert(m.exists && m.size == -1);
    ck_assert_str_eq(m.owner, "alice");   /* the first claim stands */
    ck_assert_int_eq(st_meta_usage(db, pool, "demo", NULL, &used), APR_SUCCESS);
    ck_assert_int_eq(used, 0);            /* pending rows count nothing */
    ck_assert_int_eq(st_meta_complete(db, pool, "demo", "b", "x.txt", NULL, "text/plain", 5,
                                      "\"5-1\""), APR_SUCCESS);
    ck_assert_int_eq(st_meta_complete(db, pool, "demo", "c", "y.txt", "carol", "image/png", 7,
                                      NULL), APR_SUCCESS);
    ck_assert_int_eq(st_meta_complete(db, pool, "other", "b", "x.txt", "dan", "a/b", 100,
                                      NULL), APR_SUCCESS);
    ck_assert_int_eq(st_meta_get(db, pool, "demo", "b", "x.txt", &m), APR_SUCCESS);
    ck_assert_str_eq(m.owner, "alice");
    ck_assert_str_eq(m.type, "text/plain");
    ck_assert_int_eq(m.size, 5);
    ck_assert_int_eq(st_meta_usage(db, pool, "demo", NULL, &used), APR_SUCCESS);
    ck_assert_int_eq(used, 12);
    ck_assert_int_eq(st_meta_usage(db, pool, "demo", "c", &used), APR_SUCCESS);
    ck_assert_int_eq(used, 7);
    ck_assert_int_eq(st_meta_delete(db, pool, "demo", "b", "x.txt"), APR_SUCCESS);
    ck_assert_int_eq(st_meta_get(db, pool, "demo", "b", "x.txt", &m), APR_SUCCESS);
    ck_assert_int_eq(m.exists, 0);
    snprintf(line, sizeof(line), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(line), 0);
}
END_TEST

Suite *storage_parse_suite(void)
{
    Suite *s = suite_create("storage_parse");
    TCase *tc = tcase_create("parsers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, object_ids);
    tcase_add_test(tc, url_keys);
    tcase_add_test(tc, access_presets);
    tcase_add_test(tc, upload_signature_binding);
    tcase_add_test(tc, download_signature_binding);
    suite_add_tcase(s, tc);
    tc = tcase_create("metadata");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, metadata_in_sqlite);
    suite_add_tcase(s, tc);
    return s;
}
