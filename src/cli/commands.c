/* commands.c - the table of subcommands, in the order --help lists them. */
#include <stddef.h>

#include "cli/commands.h"

const iid_command_t *const iid_commands[] = {
    &iid_cmd_serve,
    &iid_cmd_info,
    NULL,
};
