/*
 * frames.c: the demultiplexer of the engine's attach stream. Without a
 * TTY, exec output and logs come as frames: an 8-byte header (stream 0
 * stdin, passed on as stdout, 1 stdout, 2 stderr; three zero bytes; the payload's length, 32
 * bits big-endian) and the payload. Bytes arrive in chunks of any size;
 * payload pieces are passed on as they come, so a line is forwarded the
 * moment the engine sends it.
 */
#include <string.h>

#include "containers.h"

void ct_frames_init(ct_frames *f, ct_frame_fn on_frame, void *baton)
{
    memset(f, 0, sizeof(*f));
    f->on_frame = on_frame;
    f->baton = baton;
}

int ct_frames_feed(ct_frames *f, const char *data, size_t len)
{
    if (f->failed)
        return -1;
    while (len > 0) {
        if (f->remaining == 0) {
            size_t take = 8 - f->header_have;
            uint32_t size;
            if (take > len)
                take = len;
            memcpy(f->header + f->header_have, data, take);
            f->header_have += take;
            data += take;
            len -= take;
            if (f->header_have < 8)
                return 0;
            f->header_have = 0;
            if (f->header[0] > CT_FRAME_STDERR || f->header[1] || f->header[2] || f->header[3]) {
                f->failed = 1;
                return -1;
            }
            size = (uint32_t)f->header[4] << 24 | (uint32_t)f->header[5] << 16 |
                   (uint32_t)f->header[6] << 8 | (uint32_t)f->header[7];
            if (size > CT_FRAME_MAX) {
                f->failed = 1;
                return -1;
            }
            /* stream 0 (stdin) is written on stdout, the API says */
            f->stream = f->header[0] == 0 ? CT_FRAME_STDOUT : f->header[0];
            f->remaining = size;
            continue;
        }
        {
            size_t take = f->remaining < len ? f->remaining : len;
            int rc = f->on_frame ? f->on_frame(f->baton, f->stream, data, take) : 0;
            f->remaining -= take;
            data += take;
            len -= take;
            if (rc)
                return rc;
        }
    }
    return 0;
}
