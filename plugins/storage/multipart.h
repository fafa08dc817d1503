/*
 * multipart.h: the streaming multipart/form-data reader of the form upload
 * (multipart.c): parts in order, each body read piece by piece.
 */
#ifndef CB_STORAGE_MULTIPART_H
#define CB_STORAGE_MULTIPART_H

#include "storage.h"

typedef struct st_form st_form;
/* The next bytes of the body (*len = 0 at its end). */
typedef cb_status (*st_form_read_fn)(void *baton, char *buf, size_t *len);

/* The boundary of a multipart/form-data Content-Type (1-70 bytes), or NULL. */
const char *st_form_boundary(apr_pool_t *p, const char *content_type);
st_form *st_form_create(apr_pool_t *p, const char *boundary, st_form_read_fn read, void *baton);
/* Moves to the next part (skipping the rest of the current one): its name
 * and Content-Type (NULL when absent); *name NULL after the closing
 * delimiter. CB_ERROR for a malformed or truncated body. */
cb_status st_form_next_part(st_form *f, apr_pool_t *p, const char **name, const char **type);
/* The next bytes of the current part, at most cap (*n = 0 at its end). */
cb_status st_form_read(st_form *f, char *out, size_t cap, size_t *n);
/* The rest of the current part as a string of at most 8 KiB, or NULL. */
const char *st_form_field_value(st_form *f, apr_pool_t *p);
cb_status st_form_skip_part(st_form *f);

#endif
