/* fmt.c - round-trip number formatting. */
#include "core/fmt.h"

#include <stdio.h>
#include <stdlib.h>

void iid__fmt_double(char *buf, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}
