/* commands.c - the table of subcommands, in the order --help lists them. */
#include <stddef.h>

#include "cli/commands.h"

const iid_command_t iid_commands[] = {
    {"generate", "one image: --face IMG [--pose IMG] --prompt ... [--style S] -o out.png", iid_cmd_generate},
    {"batch", "generate portraits for a folder of faces, sweeping settings, logged to CSV", iid_cmd_batch},
    {"styles", "list the style templates", iid_cmd_styles},
    {"merge", "merge shard logs into one, ordered by job id", iid_cmd_merge},
    {"sheet", "contact sheets of a batch log: labelled thumbnails per image, X/Y grids of grid sweeps", iid_cmd_sheet},
    {"faces", "detect faces; print boxes, scores, keypoints, embedding norms", iid_cmd_faces},
    {"info", "what model files were found, their formats, dtypes and shapes", iid_cmd_info},
    {"serve", "the local web UI and JSON API", iid_cmd_serve},
    {"bench", "--calibrate: measure this machine's speed for the time estimates", iid_cmd_bench},
    {NULL, NULL, NULL},
};
