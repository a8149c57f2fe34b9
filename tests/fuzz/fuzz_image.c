/* fuzz_image.c - libFuzzer harness: any bytes through the from-memory image decoder
 * (PNG, JPEG, WebP, sniffing, EXIF) with a small pixel limit, then what decodes
 * through the detector letterbox and both resizers at sizes taken from the input. */
#include <stddef.h>
#include <stdint.h>

#include "io/image.h"
#include "io/image_resize.h"
#include "pipeline/face_letterbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_image_limits_t lim;
    iid__image_limits_init(&lim);
    lim.max_pixels = 1 << 18;
    lim.max_side = 4096;
    lim.max_bytes = 1 << 20;
    iid_image_t img, out;
    iid_error_t err;
    if (iid__image_decode(&img, data, size, "fuzz", &lim, &err) != IID_OK) return 0;
    iid_letterbox_t lb;
    if (iid__face_letterbox(&img, 64, 48, "fuzz", &lb, &err) == IID_OK) iid__face_letterbox_free(&lb);
    if ((size_t)img.width * img.height <= 1 << 14) { /* keep the decoders' throughput */
        int w = 1 + data[size - 1] % 97, h = 1 + data[size - 2] % 89; /* a decoded file has > 2 bytes */
        if (iid__image_resize_cv_linear(&img, w, h, &out, &err) == IID_OK) iid__image_free(&out);
        if (iid__image_resize_pil(&img, w, h, (iid_pil_filter_t)(data[size / 2] % 3), &out, &err) == IID_OK)
            iid__image_free(&out);
    }
    iid__image_free(&img);
    return 0;
}
