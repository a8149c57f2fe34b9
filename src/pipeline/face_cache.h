/*
 * face_cache.h - face analyses kept per input image, so every job of a photo
 * (a sweep, a later loop, a re-upload in the web UI) reuses one detection.
 *
 * The key is the photo's content (64-bit FNV-1a of the encoded bytes plus their
 * length) and the sizing options, so a renamed copy hits and an edited file
 * misses. An entry keeps only the numbers (size, box, keypoints, scores, the raw
 * embedding: about 2.5 KiB); the keypoint image and the mask are redrawn from
 * them on a hit, which costs far less than holding megabytes per photo. A photo
 * that failed (no face, undecodable) is kept too, with its status and message,
 * so it is analysed once however many jobs ask for it. LRU beyond cap entries.
 */
#ifndef IID_PIPELINE_FACE_CACHE_H
#define IID_PIPELINE_FACE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "iid.h"

typedef struct iid_face_key {
    uint64_t hash;
    size_t size;
    int width, height;
    unsigned char pad_rgb[3];
} iid_face_key_t;

typedef struct iid_face_entry {
    iid_face_key_t key;
    iid_status status;     /* IID_OK or why the photo failed */
    char *msg;             /* the failure's message */
    size_t name_len;       /* length of its leading "<name>: " (0 when it has none) */
    iid_face_prep_t face;  /* numbers and embedding only (no images) */
    long last_use;         /* 0: empty */
} iid_face_entry_t;

typedef struct iid_face_cache {
    iid_face_entry_t *items;
    int cap;
    long tick;
} iid_face_cache_t;

/* The key of encoded bytes under opts. */
iid_face_key_t iid__face_key(const void *data, size_t size, const iid_face_opts_t *opts);

iid_status iid__face_cache_init(iid_face_cache_t *c, int cap, iid_error_t *err);
void iid__face_cache_free(iid_face_cache_t *c);

/* The entry for key, or NULL (marks it used). */
const iid_face_entry_t *iid__face_cache_find(iid_face_cache_t *c, const iid_face_key_t *key);

/* Remember an outcome: status IID_OK with face (its numbers and embedding are
 * copied), or a failure with its message, which starts with "<name>: " when it
 * names the photo. Out of memory only loses the entry. */
void iid__face_cache_put(iid_face_cache_t *c, const iid_face_key_t *key, iid_status status, const char *msg,
                         const char *name, const iid_face_prep_t *face);

#endif
