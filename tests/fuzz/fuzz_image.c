/* fuzz_image.c - libFuzzer harness: any bytes through the from-memory image decoder
 * (PNG, JPEG, WebP, sniffing, EXIF) with a small pixel limit, then the detector
 * letterbox on whatever decodes (OpenCV-exact resize at odd sizes). */
#include <stddef.h>
#include <stdint.h>

#include "io/image.h"
#include "pipeline/face_letterbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_image_limits_t lim;
    iid__image_limits_init(&lim);
    lim.max_pixels = 1 << 18;
    lim.max_side = 4096;
    lim.max_bytes = 1 << 20;
    iid_image_t img;
    iid_error_t err;
    if (iid__image_decode(&img, data, size, "fuzz", &lim, &err) != IID_OK) return 0;
    iid_letterbox_t lb;
    if (iid__face_letterbox(&img, 64, 48, "fuzz", &lb, &err) == IID_OK) iid__face_letterbox_free(&lb);
    iid__image_free(&img);
    return 0;
}
