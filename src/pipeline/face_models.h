/*
 * face_models.h - finding the detector and the recogniser in a model folder
 * (antelopev2/, buffalo_l/, ...) and running the recogniser, as insightface's
 * FaceAnalysis and ArcFaceONNX do.
 *
 * Roles come from each model's inputs and outputs, never from file names
 * (insightface model_zoo.get_model): >= 5 outputs is a detector; a 192x192 input
 * a landmark model, 96x96 the gender/age model, two inputs at 128x128 the face
 * swapper; any other square input whose side is >= 112 and divisible by 16 is a
 * recogniser. Files are visited in sorted name order and the first model of a
 * role wins, as FaceAnalysis does. Landmark and attribute models are skipped:
 * InstantID reads only the box, the keypoints and the embedding.
 *
 * The recogniser's normalisation is insightface's rule: when among the first 8
 * graph nodes one name starts with "Sub" or "_minus" and one with "Mul" or "_mul",
 * the model normalises itself (mean 0, std 1); otherwise mean 127.5, std 127.5.
 * The embedding returned is the RAW network output (InstantID feeds it to the
 * IP-adapter's projection unnormalised).
 */
#ifndef IID_PIPELINE_FACE_MODELS_H
#define IID_PIPELINE_FACE_MODELS_H

#include <stdint.h>

#include "ops/onnx/onnx_graph.h"

typedef enum iid_face_role {
    IID_FACE_ROLE_NONE = 0,
    IID_FACE_ROLE_DETECTOR,
    IID_FACE_ROLE_RECOGNIZER,
    IID_FACE_ROLE_LANDMARK,
    IID_FACE_ROLE_ATTRIBUTE,
    IID_FACE_ROLE_SWAPPER
} iid_face_role_t;

/* The role insightface would give this model. */
iid_face_role_t iid__face_model_role(const iid_onnx_net_t *net);

typedef struct iid_face_recognizer {
    iid_onnx_net_t net;
    int input_size;    /* square side, 112 for ArcFace models */
    float input_mean, input_std;
} iid_face_recognizer_t;

/* Take over *net (zeroed on return, also on failure) as a recogniser: checks the
 * role and reads the input size and the normalisation. */
iid_status iid__face_recognizer_init(iid_face_recognizer_t *r, iid_onnx_net_t *net, iid_error_t *err);
void iid__face_recognizer_free(iid_face_recognizer_t *r);

/* The raw embedding of one aligned BGR crop (input_size x input_size x 3, HWC) as
 * an owned (1, D) F32 tensor. */
iid_status iid__face_embed(iid_face_recognizer_t *r, const uint8_t *crop_bgr, iid_tensor_t *embedding,
                           iid_error_t *err);

/* The detector's input size: the model's own fixed H and W when its input declares
 * them, else insightface's det_size (640, 640) that FaceAnalysis.prepare sets. */
void iid__face_detector_size(const iid_onnx_net_t *det, int *width, int *height);

typedef struct iid_face_models {
    iid_onnx_net_t detector;
    iid_face_recognizer_t recognizer;
} iid_face_models_t;

/* Load every .onnx in dir, keep the first detector and the first recogniser, and
 * release the rest. Fails with IID_ERR_NOT_FOUND naming dir when a role is
 * missing; a file that does not parse fails the call with its own message. */
iid_status iid__face_models_load(iid_face_models_t *fm, const char *dir, iid_error_t *err);
void iid__face_models_free(iid_face_models_t *fm);

#endif
