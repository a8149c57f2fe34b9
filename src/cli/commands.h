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

/* Terminated by an entry whose name is NULL. */
extern const iid_command_t iid_commands[];

int iid_cmd_generate(int argc, char **argv); /* cmd_generate.c */
int iid_cmd_batch(int argc, char **argv);  /* cmd_batch.c */
int iid_cmd_styles(int argc, char **argv); /* cmd_styles.c */
int iid_cmd_merge(int argc, char **argv);  /* cmd_merge.c */
int iid_cmd_sheet(int argc, char **argv);  /* cmd_sheet.c */
int iid_cmd_info(int argc, char **argv);   /* cmd_info.c */
int iid_cmd_serve(int argc, char **argv);  /* cmd_serve.c */
int iid_cmd_faces(int argc, char **argv);  /* cmd_faces.c */
int iid_cmd_bench(int argc, char **argv);  /* cmd_bench.c */

#endif
