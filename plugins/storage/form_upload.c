/*
 * form_upload.c: the SDK's POST form upload (method:'post'): a
 * multipart/form-data body with the fields key, signature,
 * x-cos-meta-fileid, success_action_status, x-cos-security-token, key and
 * then file. Not implemented yet: answers 501.
 */
#include "storage.h"

cb_status st_post_object(cb_req *req, void *state)
{
    (void)state;
    return cb_req_send_error(req, 501, "SYS_ERR", "the POST form upload is not available yet");
}
