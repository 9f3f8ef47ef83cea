/* The CI commands of the `leakgraph` CLI: `check` (verdict of traces under a policy, with
 * suppressions and a baseline, in text, JSON, SARIF or JUnit), `baseline` (fingerprints of the
 * current leaks), `diff` (what appeared, vanished and grew) and `run` with `--check` (run the
 * program, then the verdict of all its traces). Exit codes: enum lg_exit in policy.h. */
#ifndef LG_CLI_CI_H
#define LG_CLI_CI_H

/* argv[0] is the command name; each returns the exit code. */
int lg_cmd_check(int argc, char **argv);
int lg_cmd_baseline(int argc, char **argv);
int lg_cmd_diff(int argc, char **argv);
/* `leakgraph run`, with or without --check. */
int lg_cmd_run(int argc, char **argv);

/* The usage lines of these commands, for `leakgraph help`. */
extern const char lg_ci_usage[];

#endif /* LG_CLI_CI_H */
