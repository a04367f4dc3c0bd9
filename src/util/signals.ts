/**
 * Signals that stop a long command, and the exit code each gives: as a shell reports a process
 * it ended, 128 + the signal's number. Ctrl-C (SIGINT); `kill`, `timeout`, systemd, docker and
 * CI (SIGTERM); a closed terminal (SIGHUP).
 */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;
