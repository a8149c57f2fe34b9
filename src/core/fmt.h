/*
 * fmt.h - number formatting that reads back exactly, for logs and metadata that
 * must let a run be reproduced.
 */
#ifndef IID_CORE_FMT_H
#define IID_CORE_FMT_H

#include <stddef.h>

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly v. */
void iid__fmt_double(char *buf, size_t cap, double v);

#endif
