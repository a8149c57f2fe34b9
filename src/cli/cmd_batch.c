/*
 * cmd_batch.c - `instantid batch`: options -> styles, inputs, plan -> a dry run
 * or a run of the plan, with progress on the terminal and Ctrl-C handling.
 *
 * Exit status: 0 when the batch ran to its end (failed jobs included) or a dry
 * run printed its plan; 2 when it cannot run at all (bad options, no input
 * folder or images, unusable styles file, log or output folder, a log that
 * another batch holds, or no generation engine); 1 when the batch ran but
 * --contact-sheet could not draw its sheets; 128 + the signal number (130 for
 * SIGINT, 143 for SIGTERM) when a signal stopped it before the plan's end, so
 * that a scheduler sees an early stop as a failure.
 *
 * Ctrl-C (and SIGTERM, which batch schedulers send before killing a job): the
 * first sets a flag that the runner checks between jobs, so the job in flight
 * finishes and is logged, then the summary and the exact command that resumes
 * the plan are printed; a second one exits at once (rows already logged are
 * flushed to disk as each job ends).
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch/inputs.h"
#include "batch/log_lock.h"
#include "batch/log_meta.h"
#include "batch/plan.h"
#include "batch/progress.h"
#include "batch/runner.h"
#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/model_names.h"
#include "cli/options.h"
#include "cli/plan_estimate.h"
#include "batch/plan_sizes.h"
#include "cli/serve_run.h"
#include "core/mem.h"
#include "front/engine_bind.h"
#include "io/file.h"
#include "sheet/sheet.h"
#include "text/styles.h"

static const iid_opt_spec_t batch_opts[] = {
    {"input", 'i', "DIR", "folder of face images (.png .jpg .jpeg .webp; default sample_images)"},
    {"recursive", 'r', NULL, "also scan the input folder's subfolders"},
    {"identities", 0, "DIR", "each subfolder of DIR is one person: their photos' face embeddings are averaged"},
    {"output", 'o', "DIR", "folder for the generated PNGs (default generated_images)"},
    {"log", 0, "FILE", "CSV log, appended (default generation_log.csv)"},
    {"seed", 0, "N", "plan seed: image order, draws and job seeds (default: random, printed)"},
    {"loops", 0, "N", "passes over the images (default 1)"},
    {"limit", 0, "N", "stop after the first N jobs of the plan (default: no limit)"},
    {"size", 0, "WxH", "resize and pad every image to W x H (default: the demo's resize_img rule)"},
    {"pad-color", 0, "COLOR", "padding for --size: white, black, #RRGGBB or R,G,B (default white)"},
    {"identitynet-strength", 0, "A[:B]", "IdentityNet strength range (default 1.0:1.5)"},
    {"adapter-strength", 0, "A[:B]", "face adapter strength range (default 0.7:1.0)"},
    {"steps", 0, "A[:B]", "denoising steps range, integers (default 40:60)"},
    {"guidance", 0, "A[:B]", "guidance scale range (default 7.0:12.0)"},
    {"sweep", 0, "random|grid:K", "a uniform draw per job, or K values per range crossed (default random)"},
    {"styles", 0, "all|random|NAME,...", "every style per image, one drawn per job, or these (default random)"},
    {"styles-file", 0, "FILE", "JSON styles that add to or replace the built-in ones"},
    {"prompt", 0, "TEXT", "prompt, styled by each job's style (default 'human, sharp focus')"},
    {"negative-prompt", 0, "TEXT", "negative prompt (default the original preprocess.py's list)"},
    {"resume", 0, NULL, "skip jobs that the log records as successful (needs the same --seed)"},
    {"shard", 0, "I/N", "run the jobs with job_id % N == I (also from SLURM_ARRAY_TASK_ID/COUNT)"},
    {"shards", 0, "N", "shard count with JOB_COMPLETION_INDEX as I (Kubernetes indexed jobs)"},
    {"dry-run", 'n', NULL, "print the plan as CSV with the log's columns (and its sizes, steps and estimated time on "
                           "stderr); generate nothing"},
    {"progress-interval", 0, "SECONDS", "off a terminal, print the status line this often (default 60; 0: never)"},
    {"contact-sheet", 0, NULL, "draw contact sheets (OUTPUT/sheets/<image>.sheet.png) from the log after the batch"},
    {"then-serve", 0, NULL, "start the web UI on the same models and log when the batch is done (--host, --port)"},
    IID_CLI_SERVE_OPTS,
    IID_CLI_RENDER_OPTS,
    IID_CLI_COMMON_OPTS,
};
#define N_BATCH_OPTS ((int)(sizeof batch_opts / sizeof batch_opts[0]))

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    if (stop_requested) {
        static const char msg[] = "\ninstantid: stopped\n";
        (void)!write(2, msg, sizeof msg - 1);
        _exit(128 + sig);
    }
    stop_requested = sig;
    static const char msg[] = "\ninstantid: stopping after the current job (Ctrl-C again to stop now)\n";
    (void)!write(2, msg, sizeof msg - 1);
}

/* ---- option conversion ------------------------------------------------- */

static iid_status parse_range_opt(const iid_opts_t *o, const char *name, int integer, iid_range_t *r,
                                  iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", name);
    return iid__range_parse(v, opt, integer, r, err);
}

/* Everything the batch needs, converted from the options. */
typedef struct batch_setup {
    iid_plan_options_t plan;
    iid_batch_options_t run;
    const char *input;
    const char *identities; /* --identities DIR, or NULL */
    int recursive, dry_run, quiet, seed_given;
    iid_server_options_t serve; /* --then-serve */
    double progress_interval;
    int *width, *height;        /* per plan image: the generation size (plan_sizes.h) */
    iid_speed_t speed;
    char *styles_buf;      /* the --styles list, split in place */
    const char **style_list;
} batch_setup_t;

static iid_status split_styles(batch_setup_t *b, const char *v, iid_error_t *err)
{
    if (strcmp(v, "random") == 0) b->plan.styles_mode = IID_STYLES_RANDOM;
    else if (strcmp(v, "all") == 0) b->plan.styles_mode = IID_STYLES_ALL;
    else {
        size_t n = 1;
        for (const char *p = v; *p; p++) n += *p == ',';
        if (!(b->styles_buf = strdup(v)) || !(b->style_list = calloc(n, sizeof *b->style_list)))
            return iid__fail(err, IID_ERR_NOMEM, "out of memory");
        int count = 0;
        for (char *save = NULL, *t = strtok_r(b->styles_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ') t++;
            size_t l = strlen(t);
            while (l && t[l - 1] == ' ') t[--l] = '\0';
            if (*t) b->style_list[count++] = t;
        }
        if (!count) return iid__fail(err, IID_ERR_INVALID, "--styles: '%s' names no style", v);
        b->plan.styles_mode = IID_STYLES_LIST;
        b->plan.style_list = b->style_list;
        b->plan.style_list_count = count;
    }
    return IID_OK;
}

static uint64_t random_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + ((uint64_t)getpid() << 32);
    return iid__splitmix64(&s) & 0xFFFFFFFFULL; /* short enough to retype */
}

static iid_status setup(const iid_opts_t *o, batch_setup_t *b, iid_error_t *err)
{
    iid__plan_options_init(&b->plan);
    iid__batch_options_init(&b->run);
    b->input = iid_cli_get(o, "input") ? iid_cli_get(o, "input") : "sample_images";
    b->recursive = iid_cli_flag(o, "recursive");
    b->identities = iid_cli_get(o, "identities");
    if (b->identities && (iid_cli_get(o, "input") || b->recursive))
        return iid__fail(err, IID_ERR_INVALID, "--identities DIR replaces --input and --recursive; give one");
    b->dry_run = iid_cli_flag(o, "dry-run");
    b->quiet = iid_cli_flag(o, "quiet");
    if (iid_cli_get(o, "output")) b->run.output_dir = iid_cli_get(o, "output");
    if (iid_cli_get(o, "log")) b->run.log_path = iid_cli_get(o, "log");
    if (iid_cli_get(o, "prompt")) b->run.prompt = iid_cli_get(o, "prompt");
    if (iid_cli_get(o, "negative-prompt")) b->run.negative_prompt = iid_cli_get(o, "negative-prompt");
    if (iid_cli_get(o, "scheduler")) b->run.scheduler = iid_cli_get(o, "scheduler");
    b->run.resume = iid_cli_flag(o, "resume");

    b->seed_given = iid_cli_get(o, "seed") != NULL;
    IID_TRY(iid_cli_u64(o, "seed", &b->plan.seed, err));
    if (!b->seed_given) b->plan.seed = random_seed();
    if (b->run.resume && !b->seed_given)
        return iid__fail(err, IID_ERR_INVALID, "--resume: give the --seed of the run being resumed");
    long loops = 1, limit = 0, shards = 0;
    b->progress_interval = 60;
    IID_TRY(iid_cli_double(o, "progress-interval", 0, 1e6, &b->progress_interval, err));
    IID_TRY(iid_cli_long(o, "loops", 1, 1000000, &loops, err));
    IID_TRY(iid_cli_long(o, "limit", 1, 100000000, &limit, err));
    IID_TRY(iid_cli_long(o, "shards", 1, 1000000, &shards, err));
    b->plan.loops = (int)loops;
    b->plan.limit = limit;
    IID_TRY(parse_range_opt(o, "identitynet-strength", 0, &b->plan.identitynet, err));
    IID_TRY(parse_range_opt(o, "adapter-strength", 0, &b->plan.adapter, err));
    iid_cli_models_t models; /* checked now, so a bad value fails before any work */
    IID_TRY(iid_cli_models_read(o, &models, err));
    if (models.lcm) { /* the demo's LCM defaults, unless given */
        b->plan.steps = (iid_range_t){IID_LCM_STEPS, IID_LCM_STEPS};
        b->plan.guidance = (iid_range_t){IID_LCM_GUIDANCE, IID_LCM_GUIDANCE};
        const char *sched = iid_cli_get(o, "scheduler");
        IID_TRY(iid_cli_lcm_scheduler(&models, &sched, err));
        b->run.scheduler = sched;
    }
    IID_TRY(parse_range_opt(o, "steps", 1, &b->plan.steps, err));
    IID_TRY(parse_range_opt(o, "guidance", 0, &b->plan.guidance, err));
    if (iid_cli_get(o, "sweep")) IID_TRY(iid__sweep_parse(iid_cli_get(o, "sweep"), &b->plan.sweep, &b->plan.grid_k, err));
    if (iid_cli_get(o, "styles")) IID_TRY(split_styles(b, iid_cli_get(o, "styles"), err));
    IID_TRY(iid_cli_size(o, "size", &b->run.size.width, &b->run.size.height, err));
    IID_TRY(iid_cli_color(o, "pad-color", b->run.size.pad_rgb, err));
    struct stat in_st, out_st; /* outputs in the input folder would join the plan of a resumed run */
    if (stat(b->input, &in_st) == 0 && stat(b->run.output_dir, &out_st) == 0 && in_st.st_dev == out_st.st_dev &&
        in_st.st_ino == out_st.st_ino)
        return iid__fail(err, IID_ERR_INVALID, "--output %s: is the input folder; give another folder",
                         b->run.output_dir);
    char font[4096]; /* the sheets' font, checked before hours of generation */
    if (iid_cli_flag(o, "contact-sheet")) IID_TRY(iid__font_find(font, sizeof font, err));
    iid__server_options_init(&b->serve);
    IID_TRY(iid_cli_serve_options(o, &b->serve, err));
    b->serve.output_dir = b->run.output_dir;
    b->serve.log_path = b->run.log_path;
    /* (a config file shared with serve may hold them; only the command line is told off) */
    static const char *const serve_only[] = {"host", "port", "token"};
    for (int i = 0; i < 3; i++)
        if (iid_cli_given(o, serve_only[i]) && !iid_cli_flag(o, "then-serve"))
            return iid__fail(err, IID_ERR_INVALID, "--%s: only with --then-serve", serve_only[i]);
    /* A port in use must fail now, not after hours of generation. */
    if (iid_cli_flag(o, "then-serve") && !b->dry_run) IID_TRY(iid__server_probe(&b->serve, err));
    return iid__shard_resolve(iid_cli_get(o, "shard"), (int)shards, getenv("SLURM_ARRAY_TASK_ID"),
                              getenv("SLURM_ARRAY_TASK_COUNT"), getenv("SLURM_ARRAY_TASK_MIN"),
                              getenv("JOB_COMPLETION_INDEX"), &b->run.shard, err);
}

/* ---- running ----------------------------------------------------------- */

/* Write s as one shell word: bare when it is made of safe characters, else in
 * single quotes. */
static void put_shell_word(FILE *f, const char *s)
{
    int bare = *s != '\0';
    for (const char *p = s; *p && bare; p++)
        bare = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               strchr("_./:,+-=@%", *p);
    if (bare) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') fputs("'\\''", f);
        else fputc(*p, f);
    }
    fputc('\'', f);
}

/* The command that resumes this plan: every option in effect (command line and
 * --config alike), then --resume with the plan's seed. */
static void print_resume_command(FILE *f, const iid_opts_t *o, uint64_t seed)
{
    fprintf(f, "instantid batch --resume --seed %llu", (unsigned long long)seed);
    for (int i = 0; i < o->n; i++) {
        const iid_opt_spec_t *sp = &o->specs[i];
        const char *v = o->value[i];
        if (!v || strcmp(sp->name, "resume") == 0 || strcmp(sp->name, "seed") == 0) continue;
        if (!sp->metavar) {
            if (strcmp(v, "0") != 0) fprintf(f, " --%s", sp->name);
            continue;
        }
        fprintf(f, " --%s ", sp->name);
        put_shell_word(f, v);
    }
    fputc('\n', f);
}

/* Load the models once and bind the engine to the runner. The face cache holds
 * every input of the plan, so a photo is analysed once however its jobs are
 * spread. Missing or broken models stop the batch before any job runs. */
static iid_status open_engine(const iid_opts_t *o, const iid_plan_t *plan, const iid_styles_t *styles,
                              iid_ctx_t **ctx, iid_engine_binding_t **binding, iid_error_t *err)
{
    iid_cli_models_t m;
    iid_ctx_params_t cp;
    iid_render_params_t defaults;
    IID_TRY(iid_cli_models_read(o, &m, err));
    IID_TRY(iid_cli_ctx_params(&m, 1, &cp, err));
    if (plan->image_count > cp.face_cache) cp.face_cache = plan->image_count;
    IID_TRY(iid_cli_ctx_open(&m, &cp, ctx, err));
    iid_cli_render_defaults(o, &m, &defaults);
    iid_status s = iid__engine_bind(*ctx, styles, &defaults, binding, err);
    if (s != IID_OK) {
        iid_ctx_free(*ctx);
        *ctx = NULL;
    }
    return s;
}

static int run_jobs(const iid_opts_t *o, batch_setup_t *b, const iid_plan_t *plan, const iid_styles_t *styles,
                    const iid_batch_engine_t *engine);

/* --contact-sheet: one sheet per input image from the whole log (earlier runs'
 * rows included), into OUTPUT/sheets. The batch itself is done, so a failure
 * here exits 1, not 2. */
static int draw_sheets(const batch_setup_t *b)
{
    iid_error_t err;
    iid_sheet_options_t so;
    iid__sheet_options_init(&so);
    char dir[4096];
    int written = 0;
    iid_status st = iid__path_join(dir, sizeof dir, b->run.output_dir, "sheets", &err);
    if (st == IID_OK) st = iid__sheets_write(b->run.log_path, b->run.output_dir, dir, 1, &so, &written, &err);
    if (st != IID_OK) {
        fprintf(stderr, "instantid batch: contact sheets: %s\n", err.msg);
        return 1;
    }
    if (!b->quiet) printf("contact sheets: %d in %s\n", written, dir);
    return 0;
}

static int run_batch(const iid_opts_t *o, batch_setup_t *b, const iid_plan_t *plan, const iid_styles_t *styles)
{
    iid_error_t err;
    iid_ctx_t *ctx = NULL;
    iid_engine_binding_t *binding = NULL;
    /* Refuse a log that another batch holds now, not after loading the models. */
    if (iid__log_check_free(b->run.log_path, &err) != IID_OK ||
        open_engine(o, plan, styles, &ctx, &binding, &err) != IID_OK) {
        fprintf(stderr, "instantid batch: %s\n", err.msg);
        return 2;
    }
    iid_cli_models_t m;
    iid_model_names_t names = {0};
    iid_render_params_t defaults;
    iid_render_params_init(&defaults);
    if (iid_cli_models_read(o, &m, &err) == IID_OK) {
        iid_cli_model_names(&m, &names);
        iid_cli_render_defaults(o, &m, &defaults);
        b->run.models = &names;
    }
    b->run.face_mask = defaults.face_mask;
    iid_batch_engine_t engine = iid__binding_batch(binding);
    int rc = run_jobs(o, b, plan, styles, &engine);
    b->run.models = NULL;
    iid__engine_unbind(binding);
    if (rc == 0 && iid_cli_flag(o, "contact-sheet")) rc = draw_sheets(b);
    if (iid_cli_flag(o, "verbose")) {
        fprintf(stderr, "instantid batch: peak memory %.1f MiB\n", iid__mem_peak_bytes() / 1048576.0);
        iid_cli_print_stats("batch", ctx);
    }
    if (rc == 0 && iid_cli_flag(o, "then-serve")) {
        /* The one-off UI on the same models, output folder and log. */
        rc = iid_cli_serve(&b->serve, ctx, &defaults, &names, NULL);
    }
    iid_ctx_free(ctx);
    return rc;
}

static int run_jobs(const iid_opts_t *o, batch_setup_t *b, const iid_plan_t *plan, const iid_styles_t *styles,
                    const iid_batch_engine_t *engine)
{
    iid_error_t err;
    if (!b->quiet)
        printf("instantid batch: seed %llu, %d images, %ld jobs planned\n", (unsigned long long)plan->seed,
               plan->image_count, plan->count);
    unsigned char *todo = malloc(plan->count ? (size_t)plan->count : 1);
    iid_batch_result_t res;
    iid_status st = todo ? iid__batch_select(plan, &b->run, todo, &res, &err)
                         : iid__fail(&err, IID_ERR_NOMEM, "out of memory");
    if (st != IID_OK) {
        free(todo);
        fprintf(stderr, "instantid batch: %s\n", err.msg);
        return 2;
    }
    if (!b->quiet && res.skipped) printf("resuming: %ld of %ld jobs already done\n", res.skipped, res.selected);
    if (!b->quiet) iid_cli_print_estimate(stdout, "instantid batch: ", plan, todo, b->width, b->height, &b->speed);
    iid_reporter_setup_t rs = {stdout, isatty(fileno(stdout)), b->quiet, iid_cli_clock, NULL,
                               res.selected - res.skipped, iid__plan_work(plan, todo, b->width, b->height),
                               b->width, b->height, &b->speed, 1, b->progress_interval};
    free(todo);
    iid_progress_reporter_t rep;
    iid__reporter_init(&rep, &rs);
    iid_batch_observer_t ob = iid__reporter_observer(&rep);
    b->run.observer = &ob;
    b->run.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Tell `serve` where the source photos are (batch/log_meta.h); it only
     * costs the web UI its Refine face when it cannot be written. An identity's
     * photos are one level down. */
    const char *inputs = b->identities ? b->identities : b->input;
    if (iid__log_meta_write(b->run.log_path, inputs, b->identities || b->recursive, &err) != IID_OK)
        fprintf(stderr, "instantid batch: warning: %s\n", err.msg);
    st = iid__batch_run(plan, styles, engine, &b->run, &res, &err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    iid__reporter_finish(&rep, res.interrupted);
    if (st == IID_OK && rep.status != IID_OK) st = iid__fail(&err, rep.status, "out of memory");
    iid__reporter_free(&rep);
    if (st != IID_OK) {
        fprintf(stderr, "instantid batch: %s\n", err.msg);
        return 2;
    }
    if (res.interrupted) {
        fprintf(stderr, "instantid batch: stopped by signal %d before the end of the plan; to resume:\n  ",
                (int)stop_requested);
        print_resume_command(stderr, o, plan->seed);
        return 128 + (int)stop_requested;
    }
    return 0;
}

/* The plan as CSV on stdout; its sizes, steps and estimated time on stderr. */
static int dry_run(batch_setup_t *b, const iid_plan_t *plan)
{
    iid_error_t err;
    fprintf(stderr, "instantid batch: seed %llu, %ld jobs planned\n", (unsigned long long)plan->seed, plan->count);
    unsigned char *todo = malloc(plan->count ? (size_t)plan->count : 1);
    iid_batch_result_t res;
    iid_status st = todo ? iid__batch_select(plan, &b->run, todo, &res, &err)
                         : iid__fail(&err, IID_ERR_NOMEM, "out of memory");
    if (st == IID_OK) st = iid__batch_dry_run(stdout, plan, &b->run, b->width, b->height, &err);
    if (st == IID_OK) iid_cli_print_estimate(stderr, "instantid batch: ", plan, todo, b->width, b->height, &b->speed);
    free(todo);
    if (st != IID_OK) fprintf(stderr, "instantid batch: %s\n", err.msg);
    return st == IID_OK ? 0 : 2;
}

int iid_cmd_batch(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_error_clear(&err);
    batch_setup_t b;
    memset(&b, 0, sizeof b);
    iid_styles_t styles = {0};
    iid_path_list_t inputs = {0};
    iid_plan_t plan = {0};
    int rc = 2;
    iid_status st = iid_cli_parse(&o, batch_opts, N_BATCH_OPTS, argc, argv, 0, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid batch [options]",
                     "Generate stylised portraits of every face image in a folder, sweeping the settings and "
                     "logging\nevery attempt to a CSV file. Defaults follow the original preprocess.py.",
                     batch_opts, N_BATCH_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK) st = setup(&o, &b, &err);
    if (st == IID_OK) iid_cli_speed_load(&o, &b.speed);
    if (st == IID_OK) st = iid__styles_load_builtin(&styles, &err);
    if (st == IID_OK && iid_cli_get(&o, "styles-file"))
        st = iid__styles_merge_file(&styles, iid_cli_get(&o, "styles-file"), &err);
    if (st == IID_OK && b.identities) {
        st = iid__scan_identities(b.identities, &inputs, &err);
        if (st == IID_OK && inputs.count == 0)
            st = iid__fail(&err, IID_ERR_NOT_FOUND, "%s: no subfolders (one per person)", b.identities);
    } else if (st == IID_OK) {
        st = iid__scan_images(b.input, b.recursive, &inputs, &err);
        if (st == IID_OK && inputs.count == 0)
            st = iid__fail(&err, IID_ERR_NOT_FOUND, "%s: no .png, .jpg, .jpeg or .webp images%s", b.input,
                           b.recursive ? "" : " (use --recursive for subfolders)");
    }
    const char **names = NULL;
    if (st == IID_OK && !(names = malloc((size_t)styles.count * sizeof *names)))
        st = iid__fail(&err, IID_ERR_NOMEM, "out of memory");
    for (int i = 0; st == IID_OK && i < styles.count; i++) names[i] = styles.items[i].name;
    if (st == IID_OK)
        st = iid__plan_build(&plan, (const char *const *)inputs.paths, inputs.count, names, styles.count, &b.plan,
                             &err);
    free(names);
    if (st != IID_OK) {
        fprintf(stderr, "instantid batch: %s\n", err.msg);
    } else if ((st = iid__plan_sizes(&plan, &b.run.size, &b.width, &b.height, &err)) != IID_OK) {
        fprintf(stderr, "instantid batch: %s\n", err.msg);
    } else if (b.dry_run) {
        rc = dry_run(&b, &plan);
    } else {
        rc = run_batch(&o, &b, &plan, &styles);
    }
    iid__plan_free(&plan);
    iid__path_list_free(&inputs);
    iid__styles_free(&styles);
    free(b.styles_buf);
    free(b.style_list);
    free(b.width);
    free(b.height);
    iid_cli_free(&o);
    return rc;
}
