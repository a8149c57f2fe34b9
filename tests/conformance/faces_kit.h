/*
 * faces_kit.h - what the faces_* stages share: paths inside the face kit
 * (<kit>/faces/), case discovery from golden/index.json and folder listings,
 * loading the kit's models, and the one place a decoded photo comes from.
 *
 * Cases are never hard-coded: images come from index.json's "images" list (their
 * golden files are named by the image's stem), raw network cases from the files
 * in golden/raw, recognisers from classifying every model in models/.
 */
#ifndef IID_CONF_FACES_KIT_H
#define IID_CONF_FACES_KIT_H

#include <stdint.h>

#include "conformance.h"
#include "ops/onnx/onnx_graph.h"

typedef struct faces_image {
    char stem[256];  /* "two_faces_obama_biden": the golden files' base name */
    char image[512]; /* "faces/two_faces_obama_biden.jpg", relative to images_root */
    double det_scale; /* the letterbox's new_h / H from index.json (NAN if absent) */
} faces_image_t;

/* <kit>/faces/<rel> into buf. */
const char *faces_path(const conf_ctx_t *c, const char *rel, char *buf, size_t cap);

/* The images listed in faces/golden/index.json (malloc'd array). On failure the
 * stage is SKIPped with the reason and -1 is returned. */
int faces_list_images(conf_ctx_t *c, const char *stage, faces_image_t **out, int *n);

/* Sorted names of the files in faces/<rel_dir> ending with suffix (malloc'd; free
 * with faces_free_names). Returns -1 when the folder cannot be read. */
int faces_list_dir(const conf_ctx_t *c, const char *rel_dir, const char *suffix, char ***names, int *n);
void faces_free_names(char **names, int n);

/* Open faces/<rel> as safetensors; on failure report SKIP (missing file) for the
 * case and return -1. */
int faces_open(conf_ctx_t *c, const char *stage, const char *kase, const char *rel, iid_safetensors_t *st);

/* Load faces/models/<file>; on failure report FAIL for the case and return -1. */
int faces_load_net(conf_ctx_t *c, const char *stage, const char *file, iid_onnx_net_t *net);

/* The decoded photo of an index entry (<kit>/faces/<images_root>/<image>, EXIF
 * orientation applied) as 8-bit BGR HWC (malloc'd). Returns -1 and fills reason
 * when it cannot be read; callers SKIP the cases that need the photo. */
int faces_decode_photo(const conf_ctx_t *c, const faces_image_t *img, uint8_t **bgr, int *w, int *h, char *reason,
                       size_t cap);

/* The detector blob (1, 3, size, size) of the decoded photo, letterboxed as
 * insightface does, and its det_scale. -1 with a reason when it cannot be made. */
int faces_photo_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob, double *det_scale,
                     char *reason, size_t cap);

/* The kit's stored blob golden/raw/<stem>.input.safetensors when there is one of
 * that size (-1 otherwise). */
int faces_stored_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob);

/* The detector blob for an index entry: the photo's (faces_photo_blob), or, when
 * the photo cannot be read, the kit's stored blob with index.json's det_scale. */
int faces_detector_blob(const conf_ctx_t *c, const faces_image_t *img, int size, iid_tensor_t *blob,
                        double *det_scale, char *reason, size_t cap);

/* The JSON twin faces/<rel> of a golden file: our decoded photo against its
 * decoded.bgr_sha256 and, when blob is given, our detector blob against its
 * blob_sha256 (the exact path of the faces README section 7 starts there). */
void faces_check_twin(conf_ctx_t *c, const char *stage, const char *kase, const char *rel, const faces_image_t *img,
                      const iid_tensor_t *blob);

/* The detector file that faces/golden/<family>/<image>.json names; -1 when the
 * JSON or its "detector" field is missing. */
int faces_twin_detector(const conf_ctx_t *c, const char *family, const faces_image_t *img, char *out, size_t cap);

/* A double from a golden F64 tensor (exact), or NAN when missing. */
double faces_golden_f64(const iid_safetensors_t *st, const char *name, size_t index);

#endif
