/* log.c - leveled diagnostics to a FILE. */
#include "core/log.h"

#include <stdarg.h>

void iid__log(const iid_logger_t *lg, iid_log_level_t level, const char *fmt, ...)
{
    iid_log_level_t max = lg ? lg->level : IID_LOG_WARN;
    if (level > max) return;
    FILE *out = (lg && lg->out) ? lg->out : stderr;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    fprintf(out, "instantid: %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}
