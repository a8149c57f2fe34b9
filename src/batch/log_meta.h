/*
 * log_meta.h - the log's sidecar: where a batch read its face images.
 *
 * The log records each job's image by its base name only (the original
 * preprocess.py's image_name column), so `instantid serve` cannot find the
 * source photo of a row by itself. A batch therefore writes, next to its log
 * LOG, the file LOG.json (e.g. generation_log.csv.json):
 *
 *   {"input": "/abs/path/sample_images", "recursive": false}
 *
 * input is the real path of --input when the batch started; recursive says
 * whether subfolders were scanned. The file is rewritten atomically (temporary
 * name, then rename) by every batch run on that log; the last one wins. `serve`
 * reads it when it is not given --input, to serve a row's source image for the
 * web UI's Refine button (GET /inputs/NAME).
 */
#ifndef IID_BATCH_LOG_META_H
#define IID_BATCH_LOG_META_H

#include <stddef.h>

#include "core/status.h"

/* LOG.json for log_path, in buf. IID_ERR_RANGE when it does not fit. */
iid_status iid__log_meta_path(char *buf, size_t cap, const char *log_path, iid_error_t *err);

/* Record input_dir (made absolute with realpath; it must exist) and recursive
 * beside log_path. Fails on an unwritable folder; the old sidecar then stays. */
iid_status iid__log_meta_write(const char *log_path, const char *input_dir, int recursive, iid_error_t *err);

/* Read the sidecar of log_path: the input folder (into input, cap bytes) and
 * the recursive flag. IID_ERR_NOT_FOUND when there is none; IID_ERR_FORMAT (the
 * message names the file) when it is not the JSON above. */
iid_status iid__log_meta_read(const char *log_path, char *input, size_t cap, int *recursive, iid_error_t *err);

#endif
