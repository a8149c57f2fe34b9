/*
 * cmd_merge.c - `instantid merge LOG... -o LOG`: join shard logs into one log,
 * ordered by job id, written atomically (see iid__log_merge).
 */
#include <stdio.h>

#include "batch/csv_log.h"
#include "cli/commands.h"
#include "cli/options.h"

static const iid_opt_spec_t merge_opts[] = {
    {"output", 'o', "LOG", "the merged log to write (required; replaced atomically)"},
    {"quiet", 'q', NULL, "print only errors"},
};
#define N_MERGE_OPTS ((int)(sizeof merge_opts / sizeof merge_opts[0]))

int iid_cmd_merge(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_status st = iid_cli_parse(&o, merge_opts, N_MERGE_OPTS, argc, argv, 1, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid merge LOG... -o LOG",
                     "Merge batch logs (one per shard) into one log ordered by job id; every row is kept.",
                     merge_opts, N_MERGE_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    const char *out = st == IID_OK ? iid_cli_get(&o, "output") : NULL;
    if (st == IID_OK && !out) st = iid__fail(&err, IID_ERR_INVALID, "-o LOG: the output log is required");
    if (st == IID_OK && o.npositional == 0) st = iid__fail(&err, IID_ERR_INVALID, "no input logs given");
    long rows = 0;
    if (st == IID_OK) st = iid__log_merge((const char *const *)o.positional, o.npositional, out, &rows, &err);
    if (st != IID_OK) fprintf(stderr, "instantid merge: %s\n", err.msg);
    else if (!iid_cli_flag(&o, "quiet")) printf("%s: %ld rows from %d logs\n", out, rows, o.npositional);
    iid_cli_free(&o);
    return st == IID_OK ? 0 : 2;
}
