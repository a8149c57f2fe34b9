/*
 * ini.h - reading INI files for `--config FILE`.
 *
 * The format: one `key = value` per line; blank lines and lines whose first
 * non-blank character is '#' or ';' are comments; `[section]` lines start a
 * section. Keys and values are trimmed of surrounding blanks; a value wrapped in
 * double quotes loses them (so it can keep leading or trailing spaces). There are
 * no comments after a value (prompts contain '#' and ';'), no continuation lines
 * and no escapes. A UTF-8 byte-order mark at the start is skipped, CRLF line ends
 * are accepted.
 *
 *   # my batch
 *   input = photos
 *   identitynet_strength = 1.0:1.5
 *   [batch]
 *   styles = Watercolor,Film Noir
 */
#ifndef IID_IO_INI_H
#define IID_IO_INI_H

#include <stddef.h>

#include "core/status.h"

typedef struct iid_ini_entry {
    char *section; /* "" before the first [section] */
    char *key;
    char *value;
    int line;      /* 1-based, for messages */
} iid_ini_entry_t;

typedef struct iid_ini {
    iid_ini_entry_t *items; /* in file order */
    int count;
    char *path;             /* the label used in messages */
} iid_ini_t;

/* Parse text (len bytes); label names it in messages ("cfg.ini:3: ..."). Fails
 * on a line that is neither a comment, a section nor key = value, an empty key,
 * an unterminated [section, or a NUL byte. */
iid_status iid__ini_parse(const char *text, size_t len, const char *label, iid_ini_t *out, iid_error_t *err);

/* Read and parse the file at path (at most 1 MiB). */
iid_status iid__ini_load(const char *path, iid_ini_t *out, iid_error_t *err);

void iid__ini_free(iid_ini_t *ini);

#endif
