/*
 * estimate.h - how long a job takes: a cost model in "work units" and this
 * machine's speed in seconds per unit.
 *
 * Model. A denoising step at m megapixels costs m + C_ATTN * m^2 units: the
 * convolutions and linears grow with the pixels, the self-attentions (4096
 * tokens at 1024x1024) with their square. The VAE decode adds C_DECODE * m once
 * per job. A job of n steps costs n (m + C_ATTN m^2) + C_DECODE m. The constants
 * come from bench/RESULTS.md on the reference machine (2-core AMD EPYC Zen 4,
 * cpu backend on oneDNN, --dtype auto = bf16, 2 threads, 2026-12-07): one guided
 * step took 8.8 s at 512x512 and 40 s at 1024x1024, the VAE decode 66.6 s at
 * 1024x1024, which gives C_ATTN = 0.18, C_DECODE = 1.98 and 32 s per unit.
 *
 * Speed. Seconds per unit depend on the machine, the backend, the compute dtype
 * the thread count and the model files (the tiny test models run far faster per
 * unit than SDXL); the model's shape is assumed to hold across machines, so
 * one measurement calibrates it. A measurement comes from the steps of the first
 * job a run completes (or `instantid bench --calibrate`) and is kept in the cache
 * folder (io/cache.h) as speed.tsv, one line per "backend dtype threads model"
 * key.
 * Without one, estimates use the reference machine's speed and say so.
 */
#ifndef IID_BATCH_ESTIMATE_H
#define IID_BATCH_ESTIMATE_H

#include <stddef.h>

/* Seconds per work unit on the reference machine (above): the speed assumed
 * until this machine has measured its own. */
#define IID_REFERENCE_SECONDS_PER_UNIT 32.0

#include "core/status.h"

/* Work units of one denoising step at width x height. */
double iid__estimate_step_work(int width, int height);

/* Work units of a whole job (steps, then the decode); 0 for an unknown size. */
double iid__estimate_job_work(int width, int height, int steps);

typedef struct iid_speed {
    double seconds_per_unit;
    int measured;  /* 1: measured on this machine; 0: the reference machine's */
    char key[64];  /* "cpu f32 2 31e35c80fc" (backend, dtype, threads, model hash) */
    char when[24]; /* when measured, "YYYY-MM-DD HH:MM:SS" (UTC); "" otherwise */
} iid_speed_t;

/* The key for a backend, dtype, thread count and model (its short hash). */
void iid__speed_key(char *buf, size_t cap, const char *backend, const char *dtype, int threads, const char *model);

/* This key's speed from the cache, else the reference machine's. Never fails. */
void iid__speed_load(iid_speed_t *s, const char *key);

/* Record a measurement for s->key in the cache (replacing an older one); fills
 * s->when and sets s->measured. Fails when the cache cannot be written. */
iid_status iid__speed_save(iid_speed_t *s, double seconds_per_unit, iid_error_t *err);

/* Seconds per unit from `steps` steps at width x height that took `seconds`
 * (-1 when the input cannot say). */
double iid__speed_from_steps(int width, int height, int steps, double seconds);

/* "cpu f32 2 threads, measured on this machine 2026-12-07 14:00:00 UTC" or
 * "the reference machine of bench/RESULTS.md (not measured here: run
 * 'instantid bench --calibrate')". */
void iid__speed_describe(char *buf, size_t cap, const iid_speed_t *s);

#endif
