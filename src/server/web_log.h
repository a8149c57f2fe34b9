/*
 * web_log.h - logging web generations to the batch log.
 *
 * Every job the server runs is appended to the log the "Batch log" tab shows
 * (--log, generation_log.csv by default) as a row of the same 22 columns
 * (DESIGN.md section 2), so web refinements sit next to the batch runs they
 * refine. A web row differs from a batch row in:
 *   shard         "web" (the mark to filter on)
 *   job_id        "web-" + the server's job id (never a number, so --resume and
 *                 the plan's job ids never mistake it for a batch job)
 *   image_name    the uploaded face's file name as the browser sent it
 *   new_file_name web_<id>_<seed>.png in the output folder ("" on failure)
 *   width, height the image's size read back from the PNG (the requested size,
 *                 or empty when the engine sized it, on failure)
 *   scheduler     the job's scheduler, then its LoRAs as a batch row has them
 *                 ("lcm <lora:lcm-lora-sdxl:1>" for an LCM job)
 *   face_count, face_score, device: empty (the engine interface does not report them)
 *
 * Appending is the batch's own writer (batch/csv_log.h: one write per row,
 * fflush + fsync, a partial last record cut off, each under the log's row
 * lock), so a batch may be writing the same log while the server runs: the web
 * row waits up to IID_LOG_LOCK_WAIT_MS for a writer that holds the lock, then
 * gives up with an error (the image is kept; the server reports the missing row).
 */
#ifndef IID_SERVER_WEB_LOG_H
#define IID_SERVER_WEB_LOG_H

#include "core/status.h"
#include "server/jobs.h"

/* Append job's row to log_path (created with its header when missing).
 * output_real is the output folder (for the PNG's size); status and message as
 * the job ended. */
iid_status iid__web_log_append(const char *log_path, const char *output_real, const iid_job_t *job,
                               iid_status status, const char *message, const char *file_name, double seconds,
                               iid_error_t *err);

#endif
