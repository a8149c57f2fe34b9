/*
 * main.c - the instantid entry point: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "iid.h"

static void usage(FILE *f)
{
    fprintf(f,
            "instantid %s - identity-preserving image generation (InstantID) in C\n"
            "\n"
            "usage: instantid COMMAND [options]\n"
            "\n"
            "commands:\n",
            IID_VERSION);
    for (const iid_command_t *c = iid_commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'instantid COMMAND --help' documents each command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("instantid %s\n", IID_VERSION);
        return 0;
    }
    for (const iid_command_t *c = iid_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "instantid: unknown command '%s' (see 'instantid --help')\n", argv[1]);
    return 2;
}
