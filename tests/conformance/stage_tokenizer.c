/* stage_tokenizer.c - conformance stage 'tokenizer': not implemented yet. */
#include "conformance.h"

void stage_tokenizer(conf_ctx_t *c) { conf_skip(c, "tokenizer", "-", "-", "not implemented yet (issue #2)"); }
