/*
 * cmd_faces.c - `instantid faces [options] IMG...`: every face of each photo with
 * its box, score, 5 keypoints and embedding norm, and the face InstantID would use.
 *
 * Faces are detected on the photo AS GIVEN (decoded, EXIF orientation applied),
 * as insightface's FaceAnalysis.get does on the original image: letterbox to the
 * detector's input (640 x 640 unless the model fixes another size), SCRFD,
 * threshold 0.5, NMS 0.4; each face is aligned to the recogniser's crop and
 * embedded, and its RAW embedding's L2 norm is reported. The chosen face is the
 * largest box, InstantID's rule. Generation (and face_prep.h) first applies the
 * demo's resize_img, so its boxes are in resized-image pixels; these are not.
 *
 * Model choice: the face-model folder is scanned as insightface does (sorted file
 * names, the first detector and the first recogniser win); --detector and
 * --recognizer name files that override either choice.
 *
 * Output: by default a few lines per image; with --json one array, one object per
 * image: {"image", "size", "faces": [{"box", "score", "kps", "embedding_norm"}],
 * "chosen", "error"}. A photo without a face has faces [] and chosen null; a file
 * that cannot be read or analysed has its one-line error and the run goes on.
 * Exit status: 0 when every image was read (with or without faces), 1 when any
 * could not be, 2 for bad usage or unusable models.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "io/file.h"
#include "io/image.h"
#include "io/json.h"
#include "pipeline/face_align.h"
#include "pipeline/face_detect.h"
#include "pipeline/face_letterbox.h"
#include "pipeline/face_models.h"

/* The common model options too, so one config file serves every command (the
 * SDXL ones, --scheduler, --vae-tile and --dtype are checked and unused here). */
static const iid_opt_spec_t faces_opts[] = {
    {"detector", 0, "FILE", "use this SCRFD .onnx instead of the folder's first detector"},
    {"recognizer", 0, "FILE", "use this ArcFace .onnx instead of the folder's first recogniser"},
    {"json", 0, NULL, "print one JSON array, one object per image"},
    IID_CLI_COMMON_OPTS,
};
#define N_FACES_OPTS ((int)(sizeof faces_opts / sizeof faces_opts[0]))

/* One analysed photo. */
typedef struct photo_faces {
    int width, height;
    iid_face_list_t faces;
    float *norms; /* (faces.count) */
    int chosen;   /* -1 when there is no face */
} photo_faces_t;

static void photo_faces_free(photo_faces_t *p)
{
    iid__face_list_free(&p->faces);
    free(p->norms);
    memset(p, 0, sizeof *p);
    p->chosen = -1;
}

/* The L2 norm of a face's raw embedding: align on the original BGR photo, embed. */
static iid_status face_norm(iid_face_models_t *fm, const iid_face_t *f, const uint8_t *bgr, int w, int h,
                            uint8_t *crop, float *norm, iid_error_t *err)
{
    double M[6];
    int size = fm->recognizer.input_size;
    IID_TRY(iid__face_align_matrix((const float (*)[2])f->kps, size, M, err));
    iid__warp_affine_u8(crop, size, size, bgr, w, h, 3, M);
    iid_tensor_t emb;
    IID_TRY(iid__face_embed(&fm->recognizer, crop, &emb, err));
    const float *e = emb.data;
    double ss = 0.0;
    for (int64_t i = 0; i < iid__tensor_numel(&emb); i++) ss += (double)e[i] * e[i];
    *norm = (float)sqrt(ss);
    iid__tensor_free(&emb);
    return IID_OK;
}

/* Decode, detect every face, embed each one. Errors name the file. */
static iid_status analyze_photo(iid_face_models_t *fm, const char *path, photo_faces_t *out, iid_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->chosen = -1;
    iid_image_t img;
    IID_TRY(iid__image_load(&img, path, NULL, err));
    out->width = img.width;
    out->height = img.height;
    iid_letterbox_t lb = {0};
    iid_tensor_t blob = {0};
    uint8_t *bgr = NULL, *crop = NULL;
    int dw, dh;
    iid__face_detector_size(&fm->detector, &dw, &dh);
    iid_status st = iid__face_letterbox(&img, dw, dh, path, &lb, err);
    int64_t shape[4] = {1, 3, dh, dw}; /* (1, 3, H, W) */
    if (st == IID_OK && (st = iid__tensor_alloc(&blob, IID_DTYPE_F32, 4, shape, err)) == IID_OK) {
        iid__face_blob(&lb.canvas, blob.data);
        iid_detect_params_t p;
        iid__detect_params_init(&p);
        if ((st = iid__face_detect(&fm->detector, &blob, lb.det_scale, &p, &out->faces, err)) != IID_OK)
            st = iid__prefix(err, st, "%s", path);
    }
    size_t npx = (size_t)img.width * (size_t)img.height;
    int rs = fm->recognizer.input_size;
    if (st == IID_OK && out->faces.count > 0) {
        out->norms = calloc((size_t)out->faces.count, sizeof(float));
        bgr = malloc(npx * 3);
        crop = malloc((size_t)rs * (size_t)rs * 3);
        if (!out->norms || !bgr || !crop) st = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == IID_OK && bgr) {
        for (size_t i = 0; i < npx; i++) { /* insightface aligns on BGR */
            bgr[3 * i + 0] = img.data[3 * i + 2];
            bgr[3 * i + 1] = img.data[3 * i + 1];
            bgr[3 * i + 2] = img.data[3 * i + 0];
        }
        for (int i = 0; st == IID_OK && i < out->faces.count; i++)
            if ((st = face_norm(fm, &out->faces.faces[i], bgr, img.width, img.height, crop, &out->norms[i], err)) !=
                IID_OK)
                st = iid__prefix(err, st, "%s: face %d", path, i);
    }
    if (st == IID_OK) out->chosen = iid__face_largest(&out->faces);
    free(bgr);
    free(crop);
    iid__tensor_free(&blob);
    iid__face_letterbox_free(&lb);
    iid__image_free(&img);
    if (st != IID_OK) {
        int w = out->width, h = out->height;
        photo_faces_free(out);
        out->width = w, out->height = h;
    }
    return st;
}

/* ---- output ------------------------------------------------------------ */

/* A float32 value as a JSON number that reads back to the same float. */
static cJSON *num(float v) { return cJSON_CreateNumber(isfinite(v) ? (double)v : 0.0); }

static char *photo_json(const char *path, const photo_faces_t *p, const char *error)
{
    cJSON *o = cJSON_CreateObject(), *faces = cJSON_CreateArray();
    if (!o || !faces) {
        cJSON_Delete(o);
        cJSON_Delete(faces);
        return NULL;
    }
    cJSON_AddStringToObject(o, "image", path);
    if (p->width > 0) {
        cJSON *size = cJSON_CreateArray();
        cJSON_AddItemToArray(size, cJSON_CreateNumber(p->width));
        cJSON_AddItemToArray(size, cJSON_CreateNumber(p->height));
        cJSON_AddItemToObject(o, "size", size);
    } else {
        cJSON_AddNullToObject(o, "size");
    }
    for (int i = 0; i < p->faces.count; i++) {
        const iid_face_t *f = &p->faces.faces[i];
        cJSON *jf = cJSON_CreateObject(), *box = cJSON_CreateArray(), *kps = cJSON_CreateArray();
        for (int k = 0; k < 4; k++) cJSON_AddItemToArray(box, num(f->box[k]));
        for (int k = 0; k < IID_FACE_KPS; k++) {
            cJSON *pt = cJSON_CreateArray();
            cJSON_AddItemToArray(pt, num(f->kps[k][0]));
            cJSON_AddItemToArray(pt, num(f->kps[k][1]));
            cJSON_AddItemToArray(kps, pt);
        }
        cJSON_AddItemToObject(jf, "box", box);
        cJSON_AddItemToObject(jf, "score", num(f->score));
        cJSON_AddItemToObject(jf, "kps", kps);
        cJSON_AddItemToObject(jf, "embedding_norm", num(p->norms ? p->norms[i] : 0.0f));
        cJSON_AddItemToArray(faces, jf);
    }
    cJSON_AddItemToObject(o, "faces", faces);
    if (p->chosen >= 0) cJSON_AddNumberToObject(o, "chosen", p->chosen);
    else cJSON_AddNullToObject(o, "chosen");
    if (error) cJSON_AddStringToObject(o, "error", error);
    else cJSON_AddNullToObject(o, "error");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void print_text(FILE *f, const char *path, const photo_faces_t *p, const char *error)
{
    if (error) {
        fprintf(f, "error: %s\n", error); /* the message names the file */
        return;
    }
    if (p->faces.count == 0) {
        fprintf(f, "%s: %dx%d, no face found\n", path, p->width, p->height);
        return;
    }
    fprintf(f, "%s: %dx%d, %d face%s (* = the one InstantID uses: the largest)\n", path, p->width, p->height,
            p->faces.count, p->faces.count == 1 ? "" : "s");
    for (int i = 0; i < p->faces.count; i++) {
        const iid_face_t *fc = &p->faces.faces[i];
        fprintf(f, "  %c face %d: box [%.2f, %.2f, %.2f, %.2f] score %.4f kps", i == p->chosen ? '*' : ' ', i,
                fc->box[0], fc->box[1], fc->box[2], fc->box[3], fc->score);
        for (int k = 0; k < IID_FACE_KPS; k++) fprintf(f, " (%.2f, %.2f)", fc->kps[k][0], fc->kps[k][1]);
        fprintf(f, " embedding_norm %.4f\n", p->norms ? p->norms[i] : 0.0f);
    }
}

/* ---- models ------------------------------------------------------------ */

static iid_status load_models(const iid_opts_t *o, iid_face_models_t *fm, iid_error_t *err)
{
    char dir[4096];
    const char *det_file = iid_cli_get(o, "detector"), *rec_file = iid_cli_get(o, "recognizer");
    const char *face_dir = iid_cli_get(o, "face-models");
    memset(fm, 0, sizeof *fm);
    if (!face_dir) {
        const char *models = iid_cli_get(o, "models");
        IID_TRY(iid__path_join(dir, sizeof dir, models ? models : "models", "antelopev2", err));
        face_dir = dir;
    }
    iid_status st = IID_OK;
    iid_onnx_net_t net;
    if (!det_file || !rec_file) st = iid__face_models_load(fm, face_dir, err);
    if (st == IID_OK && det_file && (st = iid__onnx_net_load(&net, det_file, err)) == IID_OK) {
        if (iid__face_model_role(&net) != IID_FACE_ROLE_DETECTOR) {
            st = iid__fail(err, IID_ERR_INVALID, "%s: not a face detector (a detector has >= 5 outputs)", det_file);
            iid__onnx_net_free(&net);
        } else {
            iid__onnx_net_free(&fm->detector);
            fm->detector = net;
        }
    }
    if (st == IID_OK && rec_file && (st = iid__onnx_net_load(&net, rec_file, err)) == IID_OK) {
        iid_face_recognizer_t r;
        if ((st = iid__face_recognizer_init(&r, &net, err)) == IID_OK) {
            iid__face_recognizer_free(&fm->recognizer);
            fm->recognizer = r;
        }
    }
    if (st != IID_OK) iid__face_models_free(fm);
    return st;
}

int iid_cmd_faces(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    iid_status st = iid_cli_parse(&o, faces_opts, N_FACES_OPTS, argc, argv, 1, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid faces [options] IMG...",
                     "Detect the faces of each photo and print, per face, its box (x1, y1, x2, y2), score, 5 "
                     "keypoints\n(eyes, nose, mouth corners) and the L2 norm of its raw embedding, marking the "
                     "face InstantID\nuses (the largest). Faces are detected on the photo as given (EXIF "
                     "orientation applied), as\ninsightface's app.get does on the original image: the detector "
                     "sees it letterboxed to 640x640,\nand coordinates are in the photo's pixels. Generation "
                     "first applies the demo's resize_img\n(longer side 1280, multiples of 64), so its boxes "
                     "differ by that scale.\n"
                     "The face-model folder is scanned as insightface does (sorted names; the first detector and\n"
                     "the first recogniser win); --detector / --recognizer override either.\n"
                     "With --json: one array, one object per image: {\"image\", \"size\": [w, h], \"faces\": "
                     "[{\"box\",\n\"score\", \"kps\", \"embedding_norm\"}], \"chosen\": index or null, \"error\": "
                     "message or null}.\n"
                     "Exit status: 0 when every image was read (with or without faces), 1 when any could not "
                     "be\n(the others still run), 2 for bad usage or unusable models.",
                     faces_opts, N_FACES_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK && o.npositional == 0)
        st = iid__fail(&err, IID_ERR_INVALID, "no images given (usage: instantid faces [options] IMG...)");
    iid_cli_models_t m; /* checked like every command's; --threads applies */
    if (st == IID_OK) st = iid_cli_models_read(&o, &m, &err);
    if (st == IID_OK && m.threads > 0) omp_set_num_threads((int)m.threads);
    if (st != IID_OK) {
        fprintf(stderr, "instantid faces: %s\n", err.msg);
        iid_cli_free(&o);
        return 2;
    }
    iid_face_models_t fm;
    if (load_models(&o, &fm, &err) != IID_OK) {
        fprintf(stderr, "instantid faces: %s\n", err.msg);
        iid_cli_free(&o);
        return 2;
    }
    int json = iid_cli_flag(&o, "json"), bad = 0;
    if (json) printf("[\n");
    for (int i = 0; i < o.npositional; i++) {
        const char *path = o.positional[i];
        photo_faces_t p;
        iid_error_clear(&err);
        st = analyze_photo(&fm, path, &p, &err);
        const char *error = st == IID_OK ? NULL : err.msg;
        bad |= st != IID_OK;
        if (json) {
            char *s = photo_json(path, &p, error);
            printf("%s%s\n", s ? s : "null", i + 1 < o.npositional ? "," : "");
            cJSON_free(s);
        } else {
            print_text(stdout, path, &p, error);
        }
        fflush(stdout);
        photo_faces_free(&p);
    }
    if (json) printf("]\n");
    iid__face_models_free(&fm);
    iid_cli_free(&o);
    return bad ? 1 : 0;
}
