/* fuzz_styles.c - libFuzzer harness: any bytes as a --styles-file, merged over
 * the built-in table, then every style applied once. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "text/styles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    iid_styles_t s;
    iid_error_t err;
    if (iid__styles_load_builtin(&s, &err) != IID_OK) abort();
    if (iid__styles_merge_text(&s, (const char *)data, size, "fuzz", &err) == IID_OK) {
        for (int i = 0; i < s.count; i++) {
            char *p, *n;
            if (iid__styles_apply(&s, s.items[i].name, "a {prompt}", "b", &p, &n, &err) != IID_OK) abort();
            free(p);
            free(n);
        }
    }
    iid__styles_free(&s);
    return 0;
}
