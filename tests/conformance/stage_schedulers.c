/* stage_schedulers.c - conformance stage 'schedulers': not implemented yet. */
#include "conformance.h"

void stage_schedulers(conf_ctx_t *c) { conf_skip(c, "schedulers", "-", "-", "not implemented yet (issue #3)"); }
