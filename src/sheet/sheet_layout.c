/*
 * sheet_layout.c - rows, sheets, panels, grid positions and pixel boxes of the
 * contact sheets (the rules are in sheet_layout.h).
 *
 * Work per sheet: the selected rows (one per job, in job order) whose key is the
 * sheet's; the distinct x and y values; the panels of the grid reading; the
 * grid test; else the panels of the list reading; then slots and pixels. Every
 * string a sheet keeps (key, axis values, panel titles) is its own copy, so the
 * set outlives nothing but itself; cells point at log rows by index.
 */
#include "sheet/sheet_layout.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/csv_log.h"

/* The columns that describe a job's settings: what splits a sheet into panels. */
static const int panel_columns[] = {IID_COL_IMAGE_NAME, IID_COL_STYLE, IID_COL_IDENTITYNET, IID_COL_ADAPTER,
                                    IID_COL_STEPS,      IID_COL_GUIDANCE, IID_COL_SCHEDULER, IID_COL_WIDTH,
                                    IID_COL_HEIGHT};
#define N_PANEL_COLUMNS ((int)(sizeof panel_columns / sizeof panel_columns[0]))
/* A list wraps to about a square, but never wider than this many cells. */
#define LIST_MAX_COLUMNS 20

static const struct {
    const char *name;
    int col;
} axis_aliases[] = {
    {"identitynet_strength", IID_COL_IDENTITYNET}, {"identitynet", IID_COL_IDENTITYNET},
    {"adapter_strength", IID_COL_ADAPTER},         {"adapter", IID_COL_ADAPTER},
    {"steps", IID_COL_STEPS},                      {"guidance", IID_COL_GUIDANCE},
    {"style", IID_COL_STYLE},                      {"image", IID_COL_IMAGE_NAME},
};

int iid__sheet_axis_column(const char *name)
{
    for (size_t i = 0; i < sizeof axis_aliases / sizeof axis_aliases[0]; i++)
        if (strcmp(name, axis_aliases[i].name) == 0) return axis_aliases[i].col;
    static const int allowed[] = {IID_COL_IMAGE_NAME, IID_COL_IDENTITYNET, IID_COL_ADAPTER, IID_COL_STEPS,
                                  IID_COL_GUIDANCE,   IID_COL_SEED,        IID_COL_STYLE,   IID_COL_SCHEDULER,
                                  IID_COL_WIDTH,      IID_COL_HEIGHT};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(name, iid__log_columns[allowed[i]]) == 0) return allowed[i];
    return -1;
}

iid_status iid__sheet_by_parse(const char *text, iid_sheet_by_t *by, iid_error_t *err)
{
    if (strcmp(text, "image") == 0) *by = IID_SHEET_BY_IMAGE;
    else if (strcmp(text, "style") == 0) *by = IID_SHEET_BY_STYLE;
    else if (strcmp(text, "sweep") == 0) *by = IID_SHEET_BY_SWEEP;
    else return iid__fail(err, IID_ERR_INVALID, "--by: '%s' is not image, style or sweep", text);
    return IID_OK;
}

const char *iid__sheet_column_title(int col)
{
    switch (col) {
    case IID_COL_IMAGE_NAME: return "image";
    case IID_COL_STYLE: return "style";
    case IID_COL_IDENTITYNET: return "IdentityNet";
    case IID_COL_ADAPTER: return "adapter";
    case IID_COL_STEPS: return "steps";
    case IID_COL_GUIDANCE: return "cfg";
    case IID_COL_SEED: return "seed";
    case IID_COL_SCHEDULER: return "scheduler";
    case IID_COL_WIDTH: return "width";
    case IID_COL_HEIGHT: return "height";
    default: return col >= 0 && col < IID_LOG_NCOLS ? iid__log_columns[col] : "?";
    }
}

/* The whole of s is a finite number. */
static int parse_number(const char *s, double *v)
{
    if (!*s) return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*v);
}

void iid__sheet_value_text(const char *value, char *buf, size_t cap)
{
    double v;
    if (parse_number(value, &v)) snprintf(buf, cap, "%.4g", v);
    else snprintf(buf, cap, "%s", value);
}

/* ---- one row per job, in job order --------------------------------------- */

/* A row's place in job order: numeric ids first (by value), then other ids (by
 * text), then rows without an id; ties keep the log's order. */
typedef struct job_key {
    int cls; /* 0 numeric, 1 other, 2 none */
    double v;
    const char *id;
    long row;
} job_key_t;

static int cmp_job(const void *pa, const void *pb)
{
    const job_key_t *a = pa, *b = pb;
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if (a->cls == 0 && a->v != b->v) return a->v < b->v ? -1 : 1;
    if (a->cls == 1) {
        int c = strcmp(a->id, b->id);
        if (c) return c;
    }
    return a->row < b->row ? -1 : a->row > b->row;
}

static int row_ok(const iid_csv_t *log, long r)
{
    return strcmp(iid__csv_cell(log, r, IID_COL_SUCCESS), "True") == 0;
}

/* The chosen row of every job, in job order, into a malloc'd *out. */
static iid_status select_rows(const iid_csv_t *log, long **out, long *n, iid_error_t *err)
{
    size_t cap = (size_t)(log->nrows ? log->nrows : 1);
    job_key_t *keys = malloc(cap * sizeof *keys);
    long *sel = malloc(cap * sizeof *sel);
    if (!keys || !sel) {
        free(keys);
        free(sel);
        return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    for (long r = 0; r < log->nrows; r++) {
        keys[r].id = iid__csv_cell(log, r, IID_COL_JOB_ID);
        keys[r].row = r;
        keys[r].v = 0;
        keys[r].cls = !keys[r].id[0] ? 2 : parse_number(keys[r].id, &keys[r].v) ? 0 : 1;
    }
    qsort(keys, (size_t)log->nrows, sizeof *keys, cmp_job);
    long k = 0;
    for (long i = 0; i < log->nrows;) {
        long j = i + 1;
        while (keys[i].cls != 2 && j < log->nrows && strcmp(keys[j].id, keys[i].id) == 0) j++;
        long pick = keys[j - 1].row; /* the latest row, unless an earlier one succeeded */
        for (long t = j - 1; t >= i; t--)
            if (row_ok(log, keys[t].row)) {
                pick = keys[t].row;
                break;
            }
        sel[k++] = pick;
        i = j;
    }
    free(keys);
    *out = sel;
    *n = k;
    return IID_OK;
}

/* ---- distinct values ------------------------------------------------------ */

typedef struct strings {
    char **v;
    int n, cap;
} strings_t;

static void strings_free(strings_t *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int strings_find(const strings_t *s, const char *x)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) return i;
    return -1;
}

/* The index of x, added at the end when new; -1 when out of memory. */
static int strings_intern(strings_t *s, const char *x)
{
    int i = strings_find(s, x);
    if (i >= 0) return i;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x))) return -1;
    return s->n++;
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_numeric_text(const void *a, const void *b)
{
    double x = strtod(*(char *const *)a, NULL), y = strtod(*(char *const *)b, NULL);
    return x < y ? -1 : x > y;
}

/* Numbers in numeric order when every value is one, else text order. */
static void strings_sort(strings_t *s)
{
    int numeric = 1;
    double v;
    for (int i = 0; i < s->n && numeric; i++) numeric = parse_number(s->v[i], &v);
    if (s->n > 1) qsort(s->v, (size_t)s->n, sizeof *s->v, numeric ? cmp_numeric_text : cmp_text);
}

/* ---- one sheet -------------------------------------------------------------- */

static const char *sheet_key(const iid_csv_t *log, long r, iid_sheet_by_t by)
{
    return by == IID_SHEET_BY_IMAGE ? iid__csv_cell(log, r, IID_COL_IMAGE_NAME)
           : by == IID_SHEET_BY_STYLE ? iid__csv_cell(log, r, IID_COL_STYLE)
                                      : "sweep";
}

static int key_column(iid_sheet_by_t by)
{
    return by == IID_SHEET_BY_IMAGE ? IID_COL_IMAGE_NAME : by == IID_SHEET_BY_STYLE ? IID_COL_STYLE : -1;
}

/* The panel columns: those of cols[] that vary over the sheet's rows. */
static int varying_columns(const iid_csv_t *log, const long *rows, int n, const int *cols, int ncols, int *out)
{
    int k = 0;
    for (int c = 0; c < ncols; c++)
        for (int i = 1; i < n; i++)
            if (strcmp(iid__csv_cell(log, rows[i], cols[c]), iid__csv_cell(log, rows[0], cols[c])) != 0) {
                out[k++] = cols[c];
                break;
            }
    return k;
}

/* A row's panel title: its values of the panel columns, " · " between them. */
static void panel_title(const iid_csv_t *log, long r, const int *cols, int ncols, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int c = 0; c < ncols && len < cap; c++) {
        char v[256];
        iid__sheet_value_text(iid__csv_cell(log, r, cols[c]), v, sizeof v);
        const char *sep = c ? " \xc2\xb7 " : "";
        int bare = cols[c] == IID_COL_IMAGE_NAME || cols[c] == IID_COL_STYLE || cols[c] == IID_COL_SCHEDULER;
        int w = bare ? snprintf(buf + len, cap - len, "%s%s", sep, v)
                     : snprintf(buf + len, cap - len, "%s%s %s", sep, iid__sheet_column_title(cols[c]), v);
        if (w < 0) break;
        len += (size_t)w;
    }
}

/* Assign every cell a panel by its title; titles into *panels in first-seen order. */
static iid_status assign_panels(const iid_csv_t *log, iid_sheet_t *s, const int *cols, int ncols, strings_t *panels,
                                iid_error_t *err)
{
    for (int i = 0; i < s->ncells; i++) {
        char title[1024];
        panel_title(log, s->cells[i].row, cols, ncols, title, sizeof title);
        int p = strings_intern(panels, title);
        if (p < 0) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
        s->cells[i].panel = p;
    }
    return IID_OK;
}

/* Grid reading: axis indices per cell; 1 when some panel fills every position. */
static int grid_fits(iid_sheet_t *s, int npanels, const iid_csv_t *log, int x_col, int y_col, const strings_t *xs,
                     const strings_t *ys, iid_error_t *err, iid_status *st)
{
    *st = IID_OK;
    int positions = xs->n * ys->n;
    if (positions < 2) return 0;
    unsigned char *seen = calloc((size_t)npanels * (size_t)positions, 1);
    int *filled = calloc((size_t)npanels, sizeof *filled);
    if (!seen || !filled) {
        free(seen);
        free(filled);
        *st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
        return 0;
    }
    int full = 0;
    for (int i = 0; i < s->ncells; i++) {
        iid_sheet_cell_t *c = &s->cells[i];
        c->gx = strings_find(xs, iid__csv_cell(log, c->row, x_col));
        c->gy = strings_find(ys, iid__csv_cell(log, c->row, y_col));
        unsigned char *p = &seen[(size_t)c->panel * (size_t)positions + (size_t)(c->gy * xs->n + c->gx)];
        if (!*p) {
            *p = 1;
            full |= ++filled[c->panel] == positions;
        }
    }
    free(seen);
    free(filled);
    return full;
}

/* Slots within a position, and the most any position holds. */
static iid_status assign_slots(iid_sheet_t *s, iid_error_t *err)
{
    size_t n = (size_t)s->npanels * (size_t)s->nx * (size_t)s->ny;
    int *count = calloc(n ? n : 1, sizeof *count);
    if (!count) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    s->slots = 1;
    for (int i = 0; i < s->ncells; i++) {
        iid_sheet_cell_t *c = &s->cells[i];
        int *k = &count[((size_t)c->panel * (size_t)s->ny + (size_t)c->gy) * (size_t)s->nx + (size_t)c->gx];
        c->slot = (*k)++;
        if (*k > s->slots) s->slots = *k;
    }
    free(count);
    return IID_OK;
}

/* List reading: positions in job order within each panel, lcols wide. */
static int assign_list(iid_sheet_t *s)
{
    int *count = calloc((size_t)s->npanels, sizeof *count), most = 0;
    if (!count) return 0;
    for (int i = 0; i < s->ncells; i++) {
        int k = ++count[s->cells[i].panel];
        if (k > most) most = k;
    }
    int lcols = (int)ceil(sqrt((double)most));
    if (lcols > LIST_MAX_COLUMNS) lcols = LIST_MAX_COLUMNS;
    if (lcols < 1) lcols = 1;
    memset(count, 0, (size_t)s->npanels * sizeof *count);
    for (int i = 0; i < s->ncells; i++) {
        iid_sheet_cell_t *c = &s->cells[i];
        int k = count[c->panel]++;
        c->gx = k % lcols;
        c->gy = k / lcols;
        c->slot = 0;
    }
    free(count);
    return lcols;
}

/* Pixel boxes of panels and cells, and the sheet's size. */
static void place(iid_sheet_t *s, const iid_sheet_metrics_t *m, int lcols)
{
    int pad = m->pad, cell_w = m->thumb, cell_h = m->thumb + IID_SHEET_LABEL_LINES * m->line_h + pad / 2;
    int pos_w = s->grid ? s->slots * cell_w + (s->slots - 1) * (pad / 2) : cell_w;
    int axis_w = s->grid ? m->axis_w : 0, axis_h = s->grid ? m->line_h + pad / 2 : 0;
    for (int p = 0; p < s->npanels; p++) {
        int rows = s->grid ? s->ny : 0;
        for (int i = 0; !s->grid && i < s->ncells; i++)
            if (s->cells[i].panel == p && s->cells[i].gy + 1 > rows) rows = s->cells[i].gy + 1;
        int title_h = s->panels[p].title[0] ? m->line_h + pad / 2 : 0;
        s->panels[p].pw = axis_w + (s->grid ? s->nx : lcols) * (pos_w + pad);
        s->panels[p].ph = title_h + axis_h + rows * (cell_h + pad);
    }
    /* Panels flow to about a square of panels; list panels already lcols wide take fewer columns. */
    int pcols = (int)ceil(sqrt((double)s->npanels) / (s->grid ? 1 : lcols));
    if (pcols < 1) pcols = 1;
    int prows = (s->npanels + pcols - 1) / pcols;
    int header_h = pad + 2 * m->line_h + pad, width = pad, height = header_h;
    for (int pc = 0; pc < pcols; pc++) {
        int w = 0;
        for (int p = pc; p < s->npanels; p += pcols)
            if (s->panels[p].pw > w) w = s->panels[p].pw;
        for (int p = pc; p < s->npanels; p += pcols) s->panels[p].px = width;
        width += w + pad;
    }
    for (int pr = 0; pr < prows; pr++) {
        int h = 0;
        for (int p = pr * pcols; p < s->npanels && p < (pr + 1) * pcols; p++) {
            s->panels[p].py = height;
            if (s->panels[p].ph > h) h = s->panels[p].ph;
        }
        height += h + pad;
    }
    for (int i = 0; i < s->ncells; i++) {
        iid_sheet_cell_t *c = &s->cells[i];
        const iid_sheet_panel_t *p = &s->panels[c->panel];
        int title_h = p->title[0] ? m->line_h + pad / 2 : 0;
        c->px = p->px + axis_w + c->gx * (pos_w + pad) + c->slot * (cell_w + pad / 2);
        c->py = p->py + title_h + axis_h + c->gy * (cell_h + pad);
        c->pw = cell_w;
        c->ph = cell_h;
    }
    s->width = width < 28 * m->line_h ? 28 * m->line_h : width; /* room for the header */
    s->height = height;
}

static iid_status take_strings(strings_t *from, char ***to, int *n)
{
    *to = from->v;
    *n = from->n;
    memset(from, 0, sizeof *from);
    return IID_OK;
}

static iid_status take_panels(iid_sheet_t *s, strings_t *titles, iid_error_t *err)
{
    s->panels = calloc((size_t)(titles->n ? titles->n : 1), sizeof *s->panels);
    if (!s->panels) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    for (int p = 0; p < titles->n; p++) s->panels[p].title = titles->v[p];
    s->npanels = titles->n;
    free(titles->v);
    memset(titles, 0, sizeof *titles);
    return IID_OK;
}

static iid_status layout_sheet(const iid_csv_t *log, iid_sheet_set_t *set, iid_sheet_t *s, const long *rows, int n,
                               iid_error_t *err)
{
    s->cells = calloc((size_t)n, sizeof *s->cells);
    if (!s->cells) return iid__fail(err, IID_ERR_NOMEM, "out of memory");
    s->ncells = n;
    for (int i = 0; i < n; i++) {
        s->cells[i].row = rows[i];
        s->nfailed += !row_ok(log, rows[i]);
    }
    strings_t xs = {0}, ys = {0}, titles = {0};
    iid_status st = IID_OK;
    for (int i = 0; i < n && st == IID_OK; i++)
        if (strings_intern(&xs, iid__csv_cell(log, rows[i], set->x_col)) < 0 ||
            strings_intern(&ys, iid__csv_cell(log, rows[i], set->y_col)) < 0)
            st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
    strings_sort(&xs);
    strings_sort(&ys);
    /* The grid reading: panels split by every varying column but the axes and the key. */
    int cand[N_PANEL_COLUMNS], ncand = 0, cols[N_PANEL_COLUMNS], ncols;
    for (int c = 0; c < N_PANEL_COLUMNS; c++)
        if (panel_columns[c] != set->x_col && panel_columns[c] != set->y_col && panel_columns[c] != key_column(set->by))
            cand[ncand++] = panel_columns[c];
    ncols = varying_columns(log, rows, n, cand, ncand, cols);
    if (st == IID_OK) st = assign_panels(log, s, cols, ncols, &titles, err);
    if (st == IID_OK) s->grid = grid_fits(s, titles.n, log, set->x_col, set->y_col, &xs, &ys, err, &st);
    int lcols = 0;
    if (st == IID_OK && s->grid) {
        take_strings(&xs, &s->x_values, &s->nx);
        take_strings(&ys, &s->y_values, &s->ny);
        if ((st = take_panels(s, &titles, err)) == IID_OK) st = assign_slots(s, err);
    } else if (st == IID_OK) {
        /* The list reading: one panel per image when the sheet spans several. */
        strings_free(&titles);
        int image_col = IID_COL_IMAGE_NAME;
        ncols = set->by == IID_SHEET_BY_IMAGE ? 0 : varying_columns(log, rows, n, &image_col, 1, cols);
        st = assign_panels(log, s, cols, ncols, &titles, err);
        if (st == IID_OK) st = take_panels(s, &titles, err);
        if (st == IID_OK && !(lcols = assign_list(s))) st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    strings_free(&xs);
    strings_free(&ys);
    strings_free(&titles);
    if (st != IID_OK) return st;
    place(s, &set->m, lcols);
    if (s->width > IID_SHEET_MAX_SIDE || s->height > IID_SHEET_MAX_SIDE)
        return iid__fail(err, IID_ERR_RANGE,
                         "sheet '%s' would be %dx%d pixels, over the %d-pixel side limit (draw it --by style, "
                         "or with another --x and --y)",
                         s->key, s->width, s->height, IID_SHEET_MAX_SIDE);
    return IID_OK;
}

/* ---- the set -------------------------------------------------------------- */

static void sheet_free(iid_sheet_t *s)
{
    free(s->key);
    for (int i = 0; i < s->nx; i++) free(s->x_values[i]);
    for (int i = 0; i < s->ny; i++) free(s->y_values[i]);
    free(s->x_values);
    free(s->y_values);
    for (int p = 0; p < s->npanels; p++) free(s->panels[p].title);
    free(s->panels);
    free(s->cells);
    memset(s, 0, sizeof *s);
}

void iid__sheets_free(iid_sheet_set_t *set)
{
    if (!set) return;
    for (int i = 0; i < set->count; i++) sheet_free(&set->sheets[i]);
    free(set->sheets);
    set->sheets = NULL;
    set->count = 0;
}

iid_status iid__sheets_layout(const iid_csv_t *log, iid_sheet_by_t by, int x_col, int y_col,
                              const iid_sheet_metrics_t *m, const char *only, iid_sheet_set_t *set,
                              iid_error_t *err)
{
    memset(set, 0, sizeof *set);
    set->by = by;
    set->x_col = x_col;
    set->y_col = y_col;
    set->m = *m;
    if (x_col == y_col) return iid__fail(err, IID_ERR_INVALID, "--x and --y name the same column");
    long *sel = NULL, nsel = 0;
    IID_TRY(select_rows(log, &sel, &nsel, err));
    strings_t keys = {0};
    iid_status st = IID_OK;
    for (long i = 0; i < nsel && st == IID_OK; i++) {
        const char *k = sheet_key(log, sel[i], by);
        if ((!only || strcmp(k, only) == 0) && strings_intern(&keys, k) < 0)
            st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
    }
    if (st == IID_OK && only && keys.n == 0)
        st = iid__fail(err, IID_ERR_NOT_FOUND, "'%s': no such %s in the log", only,
                       by == IID_SHEET_BY_STYLE ? "style" : by == IID_SHEET_BY_IMAGE ? "image" : "sheet");
    if (keys.n > 1) qsort(keys.v, (size_t)keys.n, sizeof *keys.v, cmp_text);
    long *rows = malloc((size_t)(nsel ? nsel : 1) * sizeof *rows);
    if (st == IID_OK && (!rows || !(set->sheets = calloc((size_t)(keys.n ? keys.n : 1), sizeof *set->sheets))))
        st = iid__fail(err, IID_ERR_NOMEM, "out of memory");
    for (int k = 0; k < keys.n && st == IID_OK; k++) {
        int n = 0;
        for (long i = 0; i < nsel; i++)
            if (strcmp(sheet_key(log, sel[i], by), keys.v[k]) == 0) rows[n++] = sel[i];
        iid_sheet_t *s = &set->sheets[set->count++];
        s->key = keys.v[k];
        keys.v[k] = NULL;
        st = layout_sheet(log, set, s, rows, n, err);
    }
    for (int k = 0; k < keys.n; k++) free(keys.v[k]);
    free(keys.v);
    free(rows);
    free(sel);
    if (st != IID_OK) iid__sheets_free(set);
    return st;
}
