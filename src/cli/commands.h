/*
 * commands.h - the subcommands of the instantid binary.
 *
 * Each command lives in its own cmd_<name>.c and receives argv starting at the
 * command name (argv[0] == "info", ...). It returns the process exit status:
 * 0 success, 1 the job ran but reported failures, 2 bad usage or unusable input.
 */
#ifndef IID_CLI_COMMANDS_H
#define IID_CLI_COMMANDS_H

typedef struct iid_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} iid_command_t;

/* NULL-terminated. */
extern const iid_command_t *const iid_commands[];

/* One descriptor per cmd_<name>.c, listed in commands.c. */
extern const iid_command_t iid_cmd_info;
extern const iid_command_t iid_cmd_serve;

#endif
