/*
 * inputs.h - finding the input images of a batch.
 *
 * An input folder is scanned for files ending in .png, .jpg, .jpeg or .webp in
 * any letter case (hidden files, whose names start with '.', are skipped), with
 * `--recursive` also in its subfolders (to a depth of 32; symbolic links to
 * folders are not followed). The result is sorted by byte order of the path, so
 * the same folder gives the same list, and hence the same plan, on every machine.
 * With `--identities DIR`, the inputs are DIR's sub-folders instead (one per
 * person, hidden ones skipped, sorted the same way); the photos inside each are
 * found when the identity is prepared.
 */
#ifndef IID_BATCH_INPUTS_H
#define IID_BATCH_INPUTS_H

#include "core/status.h"

typedef struct iid_path_list {
    char **paths; /* "<dir>/<relative path>", sorted */
    int count;
} iid_path_list_t;

/* Scan dir. Fails when dir is not a readable folder (IID_ERR_NOT_FOUND when it
 * does not exist); an empty result is not an error. */
iid_status iid__scan_images(const char *dir, int recursive, iid_path_list_t *out, iid_error_t *err);

/* The sub-folders of dir, sorted (symbolic links to folders included). */
iid_status iid__scan_identities(const char *dir, iid_path_list_t *out, iid_error_t *err);

/* True when name has one of the image extensions, in any case. */
int iid__is_image_name(const char *name);

void iid__path_list_free(iid_path_list_t *l);

#endif
