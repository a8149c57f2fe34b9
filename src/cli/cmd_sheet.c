/*
 * cmd_sheet.c - `instantid sheet LOG`: contact sheets of a batch log, one PNG
 * per input image (or style, or the whole sweep), drawn from the log and the
 * images alone (src/sheet/sheet.h), so merged shard logs and resumed runs work
 * too.
 *
 * -o: a name ending in .png that is not an existing folder is one file (the log
 * must give one sheet, or --only picks one); anything else is a folder for one
 * <key>.sheet.png per sheet. Default: IMAGES/sheets. Exit status: 0 sheets
 * written (or none, for a log without rows); 2 bad options, a log that cannot
 * be read or is not a batch log, no font, or a sheet that cannot be written.
 * Images that are missing or unreadable do not fail the command: their cells
 * turn grey with the reason.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "io/file.h"
#include "sheet/sheet.h"

static const iid_opt_spec_t sheet_opts[] = {
    {"output", 'o', "PATH", "a .png file (one sheet) or a folder (default IMAGES/sheets)"},
    {"images", 0, "DIR", "where the log's new_file_name images are: the batch's --output (default generated_images)"},
    {"by", 0, "image|style|sweep", "one sheet per input image (default), per style, or one for the whole log"},
    {"x", 0, "COLUMN", "grid x axis: identitynet_strength (default), adapter_strength, steps, guidance, style, ..."},
    {"y", 0, "COLUMN", "grid y axis (default adapter_strength)"},
    {"only", 0, "KEY", "draw only the sheet of this image (or style, with --by style)"},
    {"thumb", 0, "N", "thumbnail side in pixels, 32..1024 (default 192)"},
    {"font", 0, "FILE", "font file for the labels (default DejaVu Sans, found with fontconfig)"},
    {"quiet", 'q', NULL, "print only errors"},
};
#define N_SHEET_OPTS ((int)(sizeof sheet_opts / sizeof sheet_opts[0]))

static iid_status axis_opt(const iid_opts_t *o, const char *name, int *col, iid_error_t *err)
{
    const char *v = iid_cli_get(o, name);
    if (!v) return IID_OK;
    *col = iid__sheet_axis_column(v);
    if (*col < 0)
        return iid__fail(err, IID_ERR_INVALID,
                         "--%s: '%s' is not a column to sweep (identitynet_strength, adapter_strength, steps, "
                         "guidance, style, image, seed, scheduler, width, height, or a log column name)",
                         name, v);
    return IID_OK;
}

static int is_png_name(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".png") == 0 && !iid__is_dir(path);
}

static iid_status read_options(const iid_opts_t *o, iid_sheet_options_t *so, iid_error_t *err)
{
    iid__sheet_options_init(so);
    if (o->npositional != 1)
        return iid__fail(err, IID_ERR_INVALID, "give one log (instantid sheet LOG -o sheet.png); got %d",
                         o->npositional);
    if (iid_cli_get(o, "by")) IID_TRY(iid__sheet_by_parse(iid_cli_get(o, "by"), &so->by, err));
    IID_TRY(axis_opt(o, "x", &so->x_col, err));
    IID_TRY(axis_opt(o, "y", &so->y_col, err));
    long thumb = so->thumb;
    IID_TRY(iid_cli_long(o, "thumb", IID_SHEET_THUMB_MIN, IID_SHEET_THUMB_MAX, &thumb, err));
    so->thumb = (int)thumb;
    so->font_file = iid_cli_get(o, "font");
    so->only = iid_cli_get(o, "only");
    return IID_OK;
}

int iid_cmd_sheet(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_status st = iid_cli_parse(&o, sheet_opts, N_SHEET_OPTS, argc, argv, 1, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid sheet LOG [-o sheet.png|DIR] [options]",
                     "Contact sheets of a batch log: per input image, its outputs as labelled thumbnails, failures\n"
                     "as grey cells with the reason, as an X/Y grid when the batch swept a grid (--sweep grid:K).",
                     sheet_opts, N_SHEET_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    iid_sheet_options_t so;
    if (st == IID_OK) st = read_options(&o, &so, &err);
    const char *images = iid_cli_get(&o, "images") ? iid_cli_get(&o, "images") : "generated_images";
    char out[4096];
    if (st == IID_OK) {
        if (iid_cli_get(&o, "output")) snprintf(out, sizeof out, "%s", iid_cli_get(&o, "output"));
        else st = iid__path_join(out, sizeof out, images, "sheets", &err);
    }
    int dir = st == IID_OK && !is_png_name(out), written = 0;
    if (st == IID_OK) st = iid__sheets_write(o.positional[0], images, out, dir, &so, &written, &err);
    if (st != IID_OK) fprintf(stderr, "instantid sheet: %s\n", err.msg);
    else if (!iid_cli_flag(&o, "quiet")) {
        if (!written) printf("%s: no rows, no sheets drawn\n", o.positional[0]);
        else if (dir) printf("%s: %d sheet%s\n", out, written, written == 1 ? "" : "s");
        else printf("%s\n", out);
    }
    iid_cli_free(&o);
    return st == IID_OK ? 0 : 2;
}
