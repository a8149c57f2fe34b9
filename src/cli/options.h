/*
 * options.h - command-line options shared by the subcommands: a table of option
 * specs, a parser for `--name value`, `--name=value`, flags and positionals,
 * `--config FILE` (an INI file whose keys are the long names without dashes,
 * `identitynet_strength = 1.0:1.5`), `--help`, and the help text.
 *
 * Precedence: the command line wins over the config file, which wins over the
 * defaults the command applies for options nobody set. In the INI file, keys
 * outside any section and keys in the section named after the command ([batch])
 * apply; other sections are for other commands and are ignored. Both '-' and '_'
 * are accepted in keys. Flags take true/false, yes/no, on/off or 1/0 there.
 *
 * The parser stores strings only; each command converts and validates its values
 * with the typed getters below, whose messages name the option.
 */
#ifndef IID_CLI_OPTIONS_H
#define IID_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "io/ini.h"
#include "iid.h"

typedef struct iid_opt_spec {
    const char *name;    /* long name without the dashes, e.g. "identitynet-strength" */
    char short_name;     /* e.g. 'o' for -o, or 0 */
    const char *metavar; /* NULL for a flag */
    const char *help;    /* one line, including the default */
} iid_opt_spec_t;
/* --lora and --face may be given several times (options.c lists such options);
 * read them with iid_cli_get_all (iid_cli_get returns the last value). */

/* The options every model-using command takes (DESIGN.md section 1). */
#define IID_CLI_COMMON_OPTS                                                                            \
    {"models", 0, "DIR", "models folder (default models/)"},                                             \
        {"sdxl", 0, "DIR|FILE", "SDXL: diffusers folder or single-file .safetensors (default MODELS/sdxl)"}, \
        {"sdxl-config", 0, "DIR", "configs, tokenizers, scheduler of a single-file --sdxl (default MODELS/sdxl-config)"}, \
        {"lora", 0, "FILE[:M]", "fuse a LoRA at load with multiplier M (default 1); repeatable"},      \
        {"lcm", 0, NULL, "LCM mode: MODELS/lcm-lora-sdxl LoRA + lcm scheduler, 5 steps, guidance 1.5"},    \
        {"controlnet", 0, "DIR|FILE", "IdentityNet: folder or one .safetensors (default MODELS/ControlNetModel)"}, \
        {"ip-adapter", 0, "FILE", "face adapter (default MODELS/ip-adapter.bin)"},                       \
        {"face-models", 0, "DIR", "detector and recogniser (default MODELS/antelopev2)"},                \
        {"backend", 0, "NAME", "compute backend: cpu (default) or ref (plain loops, slow); see info"}, \
        {"device", 0, "NAME", "alias of --backend"},                                                      \
        {"threads", 0, "N", "CPU threads (default: all cores)"},                                         \
        {"dtype", 0, "f32|f16|bf16", "compute type of the weights"},                                     \
        {"scheduler", 0, "NAME", "sampler: euler (default), heun, deis, dpmpp_2m, dpmpp_2m_karras, dpmpp_2m_sde_karras, lcm"}, \
        {"resampler-heads", 0, "N", "the face Resampler's attention heads (default 20, the published file's)"}, \
        {"vae-tile", 0, "N", "decode the VAE in tiles of N latents (less memory; default: whole image)"}, \
        {"verbose", 'v', NULL, "print model loading and peak memory"},                                    \
        {"quiet", 'q', NULL, "print only errors"}

/* How renders are made (engine_setup.h iid_cli_render_options), for the commands
 * that render: generate, batch, serve. */
#define IID_CLI_RENDER_OPTS                                                                                    \
    {"plain-prompts", 0, NULL, "SDXL's encode_prompt (77 tokens, no weights) instead of the demo's weighted prompts"}, \
        {"no-face-mask", 0, NULL, "do not confine IdentityNet and the adapter to the face region"}

typedef struct iid_opts {
    const iid_opt_spec_t *specs;
    int n;
    const char **value; /* per spec: the value given, NULL when unset; flags "1" or "0" */
    unsigned char *from_cli; /* per spec: set on the command line (not from --config) */
    const char **multi; /* values of repeatable options, in order */
    int *multi_spec;    /* the spec each multi value belongs to */
    int nmulti;
    char **positional;  /* arguments that are not options, in order */
    int npositional;
    int help;           /* --help or -h was given */
    iid_ini_t ini;      /* owns the strings taken from --config */
} iid_opts_t;

/* Parse argv[1..argc-1] (argv[0] is the command name, also the INI section).
 * allow_positional: whether bare arguments are accepted. Fails on an unknown
 * option, a missing value, a positional where none is allowed, or a bad config
 * file, naming the option or file:line. o is freeable even on failure. */
iid_status iid_cli_parse(iid_opts_t *o, const iid_opt_spec_t *specs, int n, int argc, char **argv,
                         int allow_positional, iid_error_t *err);

void iid_cli_free(iid_opts_t *o);

/* The value of an option, or NULL when neither the command line nor the config
 * file set it. */
const char *iid_cli_get(const iid_opts_t *o, const char *name);

/* 1 when the option was given on the command line (not only in --config). */
int iid_cli_given(const iid_opts_t *o, const char *name);
/* Every value of a repeatable option, in order, into out (at most cap); returns
 * how many there are. The config file's value counts only when the command line
 * gave none. */
int iid_cli_get_all(const iid_opts_t *o, const char *name, const char **out, int cap);

/* A flag's value: 1 when set true, else 0. */
int iid_cli_flag(const iid_opts_t *o, const char *name);

/* Typed getters: leave *out at the caller's default when the option is unset;
 * fail with "--name: 'x' is not ..." otherwise. */
iid_status iid_cli_long(const iid_opts_t *o, const char *name, long min, long max, long *out, iid_error_t *err);
/* A finite number from min to max. */
iid_status iid_cli_double(const iid_opts_t *o, const char *name, double min, double max, double *out,
                          iid_error_t *err);
iid_status iid_cli_u64(const iid_opts_t *o, const char *name, uint64_t *out, iid_error_t *err);
/* One of the '|'-separated words in choices. */
iid_status iid_cli_choice(const iid_opts_t *o, const char *name, const char *choices, const char **out,
                          iid_error_t *err);

/* "WxH" with sides multiples of 8 from 64 to 8192; *w, *h unchanged when unset. */
iid_status iid_cli_size(const iid_opts_t *o, const char *name, int *w, int *h, iid_error_t *err);
/* white, black, #RRGGBB or R,G,B; rgb unchanged when unset. */
iid_status iid_cli_color(const iid_opts_t *o, const char *name, unsigned char rgb[3], iid_error_t *err);

/* Print "usage: ...", the description, and one line per option (plus --config
 * and --help). */
void iid_cli_help(FILE *f, const char *usage, const char *description, const iid_opt_spec_t *specs, int n);

#endif
