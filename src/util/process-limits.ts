/**
 * The limits set on this process (`ulimit`), read from /proc (Linux; elsewhere none is known),
 * and what it uses of them now: the address space (`ulimit -v`) and open files (`ulimit -n`).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** Soft limits; undefined where unlimited. */
  addressSpace?: number;
  openFiles?: number;
  /** Mapped now (VmSize), and open now. */
  mappedBytes: number;
  openNow: number;
}

export function processUsage(): ProcessUsage | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const status = readFileSync('/proc/self/status', 'utf8');
    const soft = (name: string) => {
      const value = new RegExp(`^Max ${name}\\s+(\\S+)`, 'm').exec(limits)?.[1];
      return value === undefined || value === 'unlimited' ? undefined : Number(value);
    };
    return {
      addressSpace: soft('address space'),
      openFiles: soft('open files'),
      mappedBytes: Number(/^VmSize:\s+(\d+) kB/m.exec(status)?.[1]) * 1024,
      openNow: readdirSync('/proc/self/fd').length,
    };
  } catch {
    return undefined;
  }
}

/**
 * Open files any command needs: Node opens the files of a command's modules many at a time as
 * it loads them (a sweep failed with EMFILE loading TensorFlow.js under `ulimit -n 40`, the report
 * loading Vega's modules under 96, runs show --plot under 64; below about 20 Node itself crashes
 * as it starts, before any of this runs).
 */
const MIN_OPEN_FILES = 128;

/** Refuses to start under an open-files limit too low for loading a command. */
export function checkOpenFiles(): void {
  const limit = processUsage()?.openFiles;
  if (limit !== undefined && limit < MIN_OPEN_FILES) {
    throw new Error(`this process may open ${limit} files (ulimit -n), fewer than the ${MIN_OPEN_FILES} lenet-sweep needs to load its commands; raise it (ulimit -n 1024)`);
  }
}
