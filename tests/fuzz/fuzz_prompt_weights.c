/* fuzz_prompt_weights.c - libFuzzer harness: any bytes as a weighted prompt, through
 * the parser and then, per segment, the CLIP clean-up and word split (the whole
 * text path before the vocabulary). Checks the parser's invariants: at least one
 * segment, and segment texts that together never outgrow the prompt. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/clip_normalize.h"
#include "text/prompt_weights.h"
#include "text/unicode.h"

static void split_segment(const char *text)
{
    static const int32_t eos[] = {'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>'};
    const int32_t *specials[1] = {eos};
    size_t lens[1] = {sizeof eos / sizeof eos[0]};
    iid_error_t err;
    int32_t *cps, *norm;
    size_t n, n_norm, n_spans;
    iid_text_span_t *spans;
    if (iid__utf8_decode(text, strlen(text), &cps, &n, "fuzz", &err) != IID_OK) __builtin_trap();
    if (iid__clip_basic_clean(cps, n, &norm, &n_norm, &err) == IID_OK) {
        if (iid__clip_split_words(norm, n_norm, specials, lens, 1, &spans, &n_spans, &err) == IID_OK) {
            for (size_t i = 0; i < n_spans; i++)
                if (spans[i].start >= spans[i].end || spans[i].end > n_norm) __builtin_trap();
            free(spans);
        }
        free(norm);
    }
    free(cps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    iid_prompt_segment_t *segs;
    int n;
    iid_error_t err;
    if (iid__prompt_parse(text, &segs, &n, &err) == IID_OK) {
        if (n < 1) __builtin_trap();
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            total += strlen(segs[i].text);
            split_segment(segs[i].text);
        }
        if (total > strlen(text)) __builtin_trap();
        iid__prompt_segments_free(segs, n);
    }
    free(text);
    return 0;
}
