/*
 * acl.c: the bucket access presets, as CloudBase's storage rules name them:
 * READONLY (everyone reads, the creator writes), PRIVATE (only the creator
 * reads and writes), ADMINWRITE (everyone reads, only an admin writes) and
 * ADMINONLY (only an admin reads and writes). The admin may do anything.
 */
#include <strings.h>
#include <string.h>

#include "storage.h"

static const char *const acl_names[] = {"READONLY", "PRIVATE", "ADMINWRITE", "ADMINONLY"};

const char *st_parse_acl(const char *text, st_acl *out)
{
    for (int i = 0; i < 4; i++)
        if (text && strcasecmp(text, acl_names[i]) == 0) {
            *out = (st_acl)i;
            return NULL;
        }
    return "acl= must be READONLY, PRIVATE, ADMINWRITE or ADMINONLY";
}

const char *st_acl_name(st_acl acl)
{
    return acl_names[acl];
}

static int is_admin(const cb_identity *id)
{
    return id && id->kind == CB_IDENTITY_ADMIN;
}

static int is_owner(const cb_identity *id, const char *owner)
{
    return id && id->kind != CB_IDENTITY_NONE && id->uid && *id->uid && owner &&
           strcmp(id->uid, owner) == 0;
}

static int has_identity(const cb_identity *id)
{
    return id && id->kind != CB_IDENTITY_NONE && id->uid && *id->uid;
}

int st_may_read(st_acl acl, const cb_identity *id, const char *owner)
{
    switch (acl) {
    case ST_ACL_READONLY:
    case ST_ACL_ADMINWRITE:
        return 1;
    case ST_ACL_PRIVATE:
        return is_admin(id) || is_owner(id, owner);
    case ST_ACL_ADMINONLY:
        return is_admin(id);
    }
    return 0;
}

int st_may_write(st_acl acl, const cb_identity *id, const char *owner)
{
    if (is_admin(id))
        return 1;
    switch (acl) {
    case ST_ACL_READONLY:
    case ST_ACL_PRIVATE:
        /* a new object: any caller with an identity becomes its creator */
        return owner ? is_owner(id, owner) : has_identity(id);
    case ST_ACL_ADMINWRITE:
    case ST_ACL_ADMINONLY:
        return 0;
    }
    return 0;
}
