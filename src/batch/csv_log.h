/*
 * csv_log.h - the batch log (generation_log.csv): RFC 4180 CSV writing and
 * reading, resume support, and merging shard logs.
 *
 * The log has exactly the 22 columns of DESIGN.md section 2: the 14 that the
 * original preprocess.py wrote, in its order, then ours. Records end in CRLF as
 * RFC 4180 and Python's csv module write them; a field is quoted when it holds a
 * comma, a double quote, CR or LF (quotes doubled inside), as Python's
 * QUOTE_MINIMAL does. The reader accepts CRLF and bare LF.
 *
 * Crash safety: each row is written with one fwrite, then fflush and fsync, so a
 * crash loses at most the row in flight. If a process is killed mid-write the
 * file ends with a partial record (no terminator, or an open quote); the reader
 * ignores it, and the writer cuts it off when it reopens the log, so the next row
 * starts on a fresh line. Several writers may share a log (a batch and the web
 * server's jobs): each holds flock(2) on the log file while it checks the tail
 * or writes one row, so rows never interleave and a row in flight is never cut
 * off by another writer's open. A batch also holds the run lock
 * (batch/log_lock.h, on LOG.lock) for its whole run, so a second batch is refused.
 */
#ifndef IID_BATCH_CSV_LOG_H
#define IID_BATCH_CSV_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"
#include "core/fmt.h"
#include "io/csv.h"

enum {
    IID_COL_IMAGE_NAME,
    IID_COL_NEW_FILE_NAME,
    IID_COL_IDENTITYNET,
    IID_COL_ADAPTER,
    IID_COL_STEPS,
    IID_COL_GUIDANCE,
    IID_COL_SEED,
    IID_COL_SUCCESS,
    IID_COL_ERROR,
    IID_COL_STYLE,
    IID_COL_PROMPT,
    IID_COL_NEGATIVE,
    IID_COL_TIME_TAKEN,
    IID_COL_TIMESTAMP,
    IID_COL_JOB_ID,
    IID_COL_WIDTH,
    IID_COL_HEIGHT,
    IID_COL_SCHEDULER,
    IID_COL_FACE_COUNT,
    IID_COL_FACE_SCORE,
    IID_COL_DEVICE,
    IID_COL_SHARD,
    IID_LOG_NCOLS
};

/* The header names, in order. */
extern const char *const iid__log_columns[IID_LOG_NCOLS];

/* ---- the log ----------------------------------------------------------- */

/* Read a log file and check that its header is exactly the 22 log columns.
 * A missing file is IID_ERR_NOT_FOUND. */
iid_status iid__log_read(const char *path, iid_csv_t *out, iid_error_t *err);

typedef struct iid_log_writer {
    FILE *f;
    char *path;
} iid_log_writer_t;

/* How long a writer waits for another writer's row before it gives up. */
#define IID_LOG_LOCK_WAIT_MS 10000

/* Open path for appending rows: create it with the header when it does not
 * exist or is empty; otherwise check the header and cut off a partial last
 * record (both under the row lock). Fails when the file cannot be created or written, is not a regular
 * file, or its header is not the 22-column log header. */
iid_status iid__log_open(iid_log_writer_t *w, const char *path, iid_error_t *err);

/* Append one row of IID_LOG_NCOLS fields under the row lock and make it durable
 * (fflush + fsync). Fails when the lock is held longer than IID_LOG_LOCK_WAIT_MS. */
iid_status iid__log_append(iid_log_writer_t *w, const char *const *fields, iid_error_t *err);

/* Close the file. NULL or a closed writer is a no-op. */
void iid__log_close(iid_log_writer_t *w);

/* Merge logs: every row of every input, ordered by job_id (numeric; rows of the
 * same job keep their input order; web rows, shard "web", last), written atomically to out_path with one
 * header. Fails on an unreadable input, a foreign header, or a job_id that is
 * not a number; out_path is then untouched. *rows_out (if non-NULL) receives the
 * number of rows written. */
iid_status iid__log_merge(const char *const *inputs, int n_inputs, const char *out_path, long *rows_out,
                          iid_error_t *err);

/* ---- value formatting -------------------------------------------------- */

/* Local time t as "%Y-%m-%d %H:%M:%S". */
void iid__fmt_timestamp(char *buf, size_t cap, long long t);

#endif
