/**
 * What `sweep FILE` prints of a session (sweep/session.ts): its notes, the line that says what
 * the run trains, one line per trial event where no dashboard shows them, the words for a stop,
 * and the notes on how an adaptive search ended.
 */
import { adapterText } from '../backend/choice.js';
import type { Trial } from '../config/experiment.js';
import type { SweepEvent, SweepNote, SweepOutcome, SweepPlan, TrialEvent } from '../sweep/session-types.js';
import { checkpointName } from '../checkpoint/files.js';
import { isBetter } from '../store/best.js';
import type { StopSignal } from '../util/signals.js';
import { goalText, metricValue, num, paramsText, pct, rate } from '../view/format.js';

/**
 * Prints a session's events as they come: notes, the plan (the fit's notes, then the start line),
 * and, with `trials`, one line per trial event (the dashboard shows them otherwise).
 */
export function sweepPrinter({ trials }: { trials: boolean }): (event: Exclude<SweepEvent, { type: 'opening' }>) => void {
  let trialLine: ((event: TrialEvent) => string | undefined) | undefined;
  return (event) => {
    if (event.type === 'planned') {
      for (const note of event.plan.notes) console.log(note);
      console.log(startLine(event.plan));
      if (trials) trialLine = trialLines(event.plan);
      return;
    }
    const line = isTrialEvent(event) ? trialLine?.(event) : `note: ${noteText(event)}`;
    if (line !== undefined) console.log(line);
  };
}

const TRIAL_EVENTS = new Set<string>(['started', 'progress', 'epoch', 'finished', 'failed'] satisfies TrialEvent['type'][]);
const isTrialEvent = (event: SweepNote | TrialEvent): event is TrialEvent => TRIAL_EVENTS.has(event.type);

/** The start line: the sweep, its size, what had ended before, what runs where, the database. */
export function startLine(plan: SweepPlan): string {
  const { search, ended, runnable, queue, workers } = plan;
  const endedParts = [...(ended.completed ? [`${ended.completed} already completed`] : []), ...(ended.pruned ? [`${ended.pruned} ${ended.completed ? '' : 'already '}pruned`] : [])];
  const endedText = endedParts.length ? `, ${endedParts.join(', ')}${search ? '' : ' (--rerun trains them again)'}` : '';
  const size = search ? `at most ${search.maxTrials} trials (${search.method})` : `${plan.trials.length} trial${plan.trials.length === 1 ? '' : 's'}`;
  const upTo = search ? 'up to ' : '';
  const where = queue
    ? `on the agents of ${queue} (sweep agent --queue ${queue})`
    : `on ${workers} worker${workers === 1 ? '' : 's'} (backend ${plan.backends.map((b) => (b.name === 'auto' ? `auto → ${b.runsOn}` : b.name)).join(', ')}${plan.fuse > 1 ? `; up to ${plan.fuse} trials trained as one on each` : ''})`;
  return `sweep ${plan.sweep}: ${size}${endedText}${runnable ? `; running ${upTo}${runnable} ${where}` : ''} → ${plan.db}`;
}

/** A note, as said after `note: `. */
export function noteText(note: SweepNote): string {
  switch (note.type) {
    case 'lease-wait':
      return `sweep '${note.sweep}' was coordinated by ${note.host} (pid ${note.pid}) until a moment ago; waiting for its lease to lapse (at most ${note.lapseMs / 1000} s)`;
    case 'database-wait':
      return `waiting for ${note.db}: it is locked by ${note.holder} (giving up after ${note.patienceMs / 1000} s)`;
    case 'takeover':
      return (
        `sweep '${note.sweep}' was marked running on host ${note.host} (last written ${note.updatedAt ?? '?'}); this run takes it over. ` +
        'If it still runs there, stop one of the two: two runs of a sweep train the same trials.'
      );
    case 'starting-over':
      return `trial ${note.trial.id} has ${note.storedEpochs} stored epoch${note.storedEpochs === 1 ? '' : 's'} but no checkpoint to resume from; it trains again from its first epoch`;
    case 'proposal-skipped':
      return `skipped the values ${paramsText(note.params)}: ${note.problem}`;
    case 'damaged': {
      const damaged = note.damaged.map((d) => `the checkpoint of epoch ${d.epoch} cannot be used: ${d.reason} (set aside as ${checkpointName(d.epoch)}.damaged)`);
      return `trial ${note.trial.id}: ${damaged.join('; ')}; it resumes ${note.resumesFrom ? `from epoch ${note.resumesFrom}` : 'from the start'}`;
    }
    case 'retrying':
      return `trial ${note.trial.id}: ${note.error}; starting it again from its last checkpoint (retry ${note.retry} of ${note.retries})`;
    case 'queue':
      return note.message;
  }
}

/** What the first stop request prints, when no dashboard shows it. */
export function stoppingText(signal: StopSignal): string {
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : `${signal} again`;
  return `\nstopping (${signal}): the running trials end after their current batch (${again} to stop at once)`;
}

/** What a second stop request prints, when no dashboard shows it. */
export const stoppingAtOnceText = (signal: StopSignal) => `stopping at once (${signal} again): the running trials end now, marked interrupted`;

/** The notes on why an adaptive search ended before its count. */
export function endNotes(outcome: SweepOutcome, { name, target }: SweepPlan['metric']): string[] {
  const notes = outcome.exhausted ? ['note: every point of the search space has been tried: the search ends before its count'] : [];
  const reached = outcome.reachedTarget;
  if (reached) notes.push(`note: trial ${reached.id} reached the target ${name} ${metricValue(name, reached.value)} (metric.target ${target}): no new trials start`);
  return notes;
}

/** The leaderboard's title line. */
export const leaderboardTitle = ({ name, goal }: SweepPlan['metric']) => `\nleaderboard (${name}, ${goalText(goal)})`;

/** One line per trial start, epoch and outcome (none for progress). */
function trialLines(plan: SweepPlan): (event: TrialEvent) => string | undefined {
  const { name: metric, goal } = plan.metric;
  // The queue numbered in its order (the file's); trials an adaptive search chooses as it goes
  // after it, as they start.
  const index = new Map<string, number>(plan.queued.map((t, i) => [t.id, i + 1]));
  const label = (t: Trial) => {
    if (!index.has(t.id)) index.set(t.id, index.size + 1);
    return `[${index.get(t.id)}/${plan.runnable} ${t.id}${Object.keys(t.params).length ? ` ${paramsText(t.params)}` : ''}]`;
  };
  const best = new Map<string, { epoch: number; value: number }>();
  return (event) => {
    const { trial, relayed } = event;
    // A coordinator started again stores what the agents sent while none ran: not trained now.
    const late = relayed.caughtUp ? ' (caught up)' : '';
    switch (event.type) {
      case 'started': {
        for (const m of event.resumed) if (isBetter(m[metric], best.get(trial.id)?.value ?? null, goal)) best.set(trial.id, { epoch: m.epoch, value: m[metric] });
        if (relayed.adopted) return `${label(trial)} adopted from agent ${event.agent ?? '?'} ${event.resumedFrom ? `at epoch ${event.resumedFrom}` : 'before its first epoch'}`;
        const from = event.resumedFrom ? `resumed after epoch ${event.resumedFrom} (its checkpoint) on` : 'started on';
        return `${label(trial)} ${from} ${event.backend}${event.adapter ? ` (${adapterText(event.adapter)})` : ''}, ${event.paramCount.toLocaleString('en')} parameters${late}`;
      }
      case 'epoch': {
        const m = event.metrics;
        const value = m[metric];
        if (isBetter(value, best.get(trial.id)?.value ?? null, goal)) best.set(trial.id, { epoch: m.epoch, value });
        const width = String(trial.config.training.epochs).length;
        return (
          `${label(trial)} epoch ${String(m.epoch).padStart(width)}/${trial.config.training.epochs}` +
          `  loss ${num(m.train_loss)} acc ${pct(m.train_acc)}  val_loss ${num(m.val_loss)} val_acc ${pct(m.val_acc)}` +
          `  lr ${m.lr}  ${rate(m.images_per_s)} img/s  ${m.seconds.toFixed(1)}s${late}`
        );
      }
      case 'finished': {
        const b = best.get(trial.id);
        const bestText = b ? `best ${metric} ${metricValue(metric, b.value)} (epoch ${b.epoch})` : 'no epoch finished';
        if (event.status === 'pruned') return `${label(trial)} pruned: ${event.pruneReason}; ${bestText}${late}`;
        return `${label(trial)} ${event.status}: ${bestText}, test_acc ${pct(event.testAcc)}${late}`;
      }
      case 'failed':
        return `${label(trial)} ${event.diskFull ? 'interrupted' : 'failed'}: ${event.error}${late}`;
      case 'progress':
        return undefined;
    }
  };
}
