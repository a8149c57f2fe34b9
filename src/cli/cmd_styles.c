/*
 * cmd_styles.c - `instantid styles [--styles-file F] [--json]`: list the style
 * templates. The JSON form is the styles file format, so it can be edited and
 * given back with --styles-file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "text/styles.h"
#include "cli/commands.h"
#include "cli/options.h"

static const iid_opt_spec_t styles_opts[] = {
    {"styles-file", 0, "FILE", "JSON styles that add to or replace the built-in ones"},
    {"json", 0, NULL, "print the table as JSON (the --styles-file format)"},
};
#define N_STYLES_OPTS ((int)(sizeof styles_opts / sizeof styles_opts[0]))

static char *to_json(const iid_styles_t *s)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray();
    int ok = root && list && cJSON_AddStringToObject(root, "default_style", s->default_name);
    if (ok) cJSON_AddItemToObject(root, "styles", list);
    else cJSON_Delete(list);
    for (int i = 0; ok && i < s->count; i++) {
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddStringToObject(e, "name", s->items[i].name) &&
             cJSON_AddStringToObject(e, "prompt", s->items[i].prompt) &&
             cJSON_AddStringToObject(e, "negative_prompt", s->items[i].negative);
        if (e) cJSON_AddItemToArray(list, e);
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int iid_cmd_styles(int argc, char **argv)
{
    iid_opts_t o;
    iid_error_t err;
    iid_styles_t s = {0};
    iid_status st = iid_cli_parse(&o, styles_opts, N_STYLES_OPTS, argc, argv, 0, &err);
    if (st == IID_OK && o.help) {
        iid_cli_help(stdout, "instantid styles [--styles-file FILE] [--json]",
                     "List the style templates: name and prompt template ({prompt} is the user's prompt).",
                     styles_opts, N_STYLES_OPTS);
        iid_cli_free(&o);
        return 0;
    }
    if (st == IID_OK) st = iid__styles_load_builtin(&s, &err);
    if (st == IID_OK && iid_cli_get(&o, "styles-file"))
        st = iid__styles_merge_file(&s, iid_cli_get(&o, "styles-file"), &err);
    if (st == IID_OK && iid_cli_flag(&o, "json")) {
        char *text = to_json(&s);
        if (text) printf("%s\n", text);
        else st = iid__fail(&err, IID_ERR_NOMEM, "out of memory");
        free(text);
    } else if (st == IID_OK) {
        for (int i = 0; i < s.count; i++)
            printf("%-16s%s %s\n", s.items[i].name, strcmp(s.items[i].name, s.default_name) == 0 ? "*" : " ",
                   s.items[i].prompt);
        printf("(* the default; %d styles)\n", s.count);
    }
    if (st != IID_OK) fprintf(stderr, "instantid styles: %s\n", err.msg);
    iid__styles_free(&s);
    iid_cli_free(&o);
    return st == IID_OK ? 0 : 2;
}
