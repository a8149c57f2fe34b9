/*
 * log.h - leveled diagnostics.
 *
 * A logger is a value the caller owns (no global level): the CLI makes one from
 * --quiet/--verbose and hands it down through contexts. A NULL logger prints
 * warnings and errors to stderr.
 */
#ifndef IID_CORE_LOG_H
#define IID_CORE_LOG_H

#include <stdio.h>

#include "core/status.h"

typedef enum { IID_LOG_ERROR = 0, IID_LOG_WARN, IID_LOG_INFO, IID_LOG_DEBUG } iid_log_level_t;

typedef struct iid_logger {
    iid_log_level_t level; /* messages above this level are dropped */
    FILE *out;             /* NULL means stderr */
} iid_logger_t;

void iid__log(const iid_logger_t *lg, iid_log_level_t level, const char *fmt, ...) IID_PRINTF(3, 4);

#define IID_LOGE(lg, ...) iid__log((lg), IID_LOG_ERROR, __VA_ARGS__)
#define IID_LOGW(lg, ...) iid__log((lg), IID_LOG_WARN, __VA_ARGS__)
#define IID_LOGI(lg, ...) iid__log((lg), IID_LOG_INFO, __VA_ARGS__)
#define IID_LOGD(lg, ...) iid__log((lg), IID_LOG_DEBUG, __VA_ARGS__)

#endif
