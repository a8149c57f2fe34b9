/*
 * stage_style_templates.c - conformance stage 'style_templates' (kit stage k).
 *
 * Discovers everything from golden/style_templates.json: every listed style must
 * exist in our built-in table with exactly the same prompt template and negative
 * prompt, the default style must match, and every worked apply_style example must
 * give exactly the recorded prompt and negative. Style names contain spaces, so
 * the tensor column carries the style's slug ("film-noir") or the example's
 * number and slug ("ex03-watercolor").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/styles.h"
#include "conformance.h"
#include "io/json.h"

#define STAGE "style_templates"

static void pass(conf_ctx_t *c, const char *kase, const char *tensor)
{
    printf("PASS %s %s %s exact\n", STAGE, kase, tensor);
    fflush(stdout);
    c->passed++;
}

static const char *str_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check_styles(conf_ctx_t *c, const iid_styles_t *ours, const cJSON *list)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const char *name = str_field(e, "name"), *prompt = str_field(e, "prompt");
        const char *negative = str_field(e, "negative_prompt");
        char slug[128];
        iid__style_slug(name ? name : "", slug, sizeof slug);
        if (!name || !prompt || !negative) {
            conf_fail(c, STAGE, "styles", slug, "golden entry lacks name/prompt/negative_prompt");
            continue;
        }
        const iid_style_t *st = iid__styles_find(ours, name);
        if (!st) conf_fail(c, STAGE, "styles", slug, "style '%s' is missing from our table", name);
        else if (strcmp(st->prompt, prompt) != 0)
            conf_fail(c, STAGE, "styles", slug, "prompt differs: got '%s' want '%s'", st->prompt, prompt);
        else if (strcmp(st->negative, negative) != 0)
            conf_fail(c, STAGE, "styles", slug, "negative differs: got '%s' want '%s'", st->negative, negative);
        else pass(c, "styles", slug);
    }
}

static void check_examples(conf_ctx_t *c, const iid_styles_t *ours, const cJSON *list)
{
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, list)
    {
        const char *style = str_field(e, "style"), *pin = str_field(e, "prompt_in");
        const char *nin = str_field(e, "negative_in"), *pout = str_field(e, "prompt_out");
        const char *nout = str_field(e, "negative_out");
        char slug[128], tensor[160];
        iid__style_slug(style ? style : "", slug, sizeof slug);
        snprintf(tensor, sizeof tensor, "ex%02d-%s", i++, slug);
        if (!style || !pin || !nin || !pout || !nout) {
            conf_fail(c, STAGE, "apply_style", tensor, "golden example lacks a field");
            continue;
        }
        char *p = NULL, *n = NULL;
        iid_error_t err;
        if (iid__styles_apply(ours, style, pin, nin, &p, &n, &err) != IID_OK)
            conf_fail(c, STAGE, "apply_style", tensor, "%s", err.msg);
        else if (strcmp(p, pout) != 0)
            conf_fail(c, STAGE, "apply_style", tensor, "prompt: got '%s' want '%s'", p, pout);
        else if (strcmp(n, nout) != 0)
            conf_fail(c, STAGE, "apply_style", tensor, "negative: got '%s' want '%s'", n, nout);
        else pass(c, "apply_style", tensor);
        free(p);
        free(n);
    }
}

void stage_style_templates(conf_ctx_t *c)
{
    char path[4096];
    conf_path(c, "golden/style_templates.json", path, sizeof path);
    iid_json_t j;
    iid_error_t err;
    if (conf_load_json(c, "golden/style_templates.json", &j, &err) != IID_OK) {
        conf_skip(c, STAGE, "-", "-", "%s", err.msg);
        return;
    }
    iid_styles_t ours;
    if (iid__styles_load_builtin(&ours, &err) != IID_OK) {
        conf_fail(c, STAGE, "-", "-", "%s", err.msg);
        iid__json_free(&j);
        return;
    }
    const cJSON *styles = cJSON_GetObjectItemCaseSensitive(j.root, "styles");
    const cJSON *examples = cJSON_GetObjectItemCaseSensitive(j.root, "apply_style_examples");
    const char *def = str_field(j.root, "default_style");
    if (!cJSON_IsArray(styles)) conf_fail(c, STAGE, "styles", "-", "%s: no 'styles' array", path);
    else check_styles(c, &ours, styles);
    if (!def) conf_fail(c, STAGE, "default", "-", "%s: no 'default_style'", path);
    else if (strcmp(ours.default_name, def) != 0)
        conf_fail(c, STAGE, "default", "default_style", "got '%s' want '%s'", ours.default_name, def);
    else pass(c, "default", "default_style");
    if (!cJSON_IsArray(examples)) conf_fail(c, STAGE, "apply_style", "-", "%s: no 'apply_style_examples'", path);
    else check_examples(c, &ours, examples);
    iid__styles_free(&ours);
    iid__json_free(&j);
}
