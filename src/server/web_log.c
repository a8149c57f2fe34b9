/*
 * web_log.c - one web job as a row of the batch log, appended by the batch's
 * own log writer under its row lock (web_log.h).
 */
#include "server/web_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/csv_log.h"
#include "core/fmt.h"

/* Width and height from a PNG's IHDR; 0 when the file is not a readable PNG. */
static int png_size(const char *path, int *w, int *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (n != sizeof b || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0) return 0;
    *w = (int)((unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19]);
    *h = (int)((unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23]);
    return *w > 0 && *h > 0;
}

iid_status iid__web_log_append(const char *log_path, const char *output_real, const iid_job_t *job,
                               iid_status status, const char *message, const char *file_name, double seconds,
                               iid_error_t *err)
{
    const iid_gen_request_t *r = &job->req;
    char idn[32], ad[32], steps[16], cfg[32], seed[24], id[40], width[16] = "", height[16] = "", time_s[32],
        stamp[32], path[4096 + 256], *sched = NULL;
    iid__fmt_double(idn, sizeof idn, r->identitynet_strength);
    iid__fmt_double(ad, sizeof ad, r->adapter_strength);
    iid__fmt_double(cfg, sizeof cfg, r->guidance);
    snprintf(steps, sizeof steps, "%d", r->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    snprintf(id, sizeof id, "web-%s", job->id);
    snprintf(time_s, sizeof time_s, "%.2f", seconds);
    iid__fmt_timestamp(stamp, sizeof stamp, (long long)time(NULL));
    int w = r->width, h = r->height;
    snprintf(path, sizeof path, "%s/%s", output_real, file_name);
    if (status == IID_OK) png_size(path, &w, &h);
    if (w > 0 && h > 0) {
        snprintf(width, sizeof width, "%d", w);
        snprintf(height, sizeof height, "%d", h);
    }
    const char *f[IID_LOG_NCOLS] = {0};
    f[IID_COL_IMAGE_NAME] = r->face_name;
    f[IID_COL_NEW_FILE_NAME] = status == IID_OK ? file_name : "";
    f[IID_COL_IDENTITYNET] = idn;
    f[IID_COL_ADAPTER] = ad;
    f[IID_COL_STEPS] = steps;
    f[IID_COL_GUIDANCE] = cfg;
    f[IID_COL_SEED] = seed;
    f[IID_COL_SUCCESS] = status == IID_OK ? "True" : "False";
    f[IID_COL_ERROR] = status == IID_OK ? "" : message;
    f[IID_COL_STYLE] = r->style;
    f[IID_COL_PROMPT] = r->prompt;
    f[IID_COL_NEGATIVE] = r->negative_prompt;
    f[IID_COL_TIME_TAKEN] = time_s;
    f[IID_COL_TIMESTAMP] = stamp;
    f[IID_COL_JOB_ID] = id;
    f[IID_COL_WIDTH] = width;
    f[IID_COL_HEIGHT] = height;
    /* the LoRAs after the scheduler, as a batch row records them */
    size_t sched_len = strlen(r->scheduler) + (r->lora_tags ? strlen(r->lora_tags) : 0) + 1;
    if (!(sched = malloc(sched_len))) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", log_path);
    snprintf(sched, sched_len, "%s%s", r->scheduler, r->lora_tags ? r->lora_tags : "");
    f[IID_COL_SCHEDULER] = sched;
    f[IID_COL_SHARD] = "web";

    iid_log_writer_t lw;
    iid_status st = iid__log_open(&lw, log_path, err);
    if (st == IID_OK) st = iid__log_append(&lw, f, err);
    iid__log_close(&lw);
    free(sched);
    return st;
}
