/**
 * Whether a live dashboard can be drawn: stdout is a terminal and this is not a CI job. Ink
 * decides "CI" with is-in-ci (a CI or CONTINUOUS_INTEGRATION variable that is not 0/false) and
 * then writes only the last frame, so a "live" view would stay blank until the command ends;
 * asking the same module keeps our choice and Ink's in step.
 */
import isInCi from 'is-in-ci';

export function liveTerminal(): boolean {
  return process.stdout.isTTY === true && !isInCi;
}
