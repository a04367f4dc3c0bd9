/**
 * Optimizers with PyTorch's update rules (torch.optim, 1.13), so that a recipe means the same
 * here as in the tutorial: epsilon outside the square root, L2 `weight_decay` added to the
 * gradient, AdamW's decay decoupled, RAdam's rectification. tfjs ships some of these with other
 * conventions and lacks AdamW and RAdam, so all of them live here, on one interface.
 *
 * The learning rate is passed to every step, so schedules need no optimizer internals.
 * test/optimizer.test.ts checks each rule against plain arithmetic.
 */
import {
  add,
  concat,
  div,
  dispose,
  minimum,
  mul,
  reshape,
  scalar,
  slice,
  sqrt,
  square,
  sub,
  sum,
  tensor1d,
  tidy,
  where,
  type Scalar,
  type Tensor,
  type Variable,
} from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';

export type OptimizerConfig = Experiment['optimizer'];

/**
 * The optimizer of a group of trials trained as one computation (buildGroupOptimizer): trial k's
 * variables, gradients and learning rate are `variables[k]`, `grads[k]` and `lrs[k]`.
 */
export interface GroupOptimizer {
  step(variables: Variable[][], grads: Tensor[][], lrs: number[]): void;
  /**
   * Trial k's steps and state vectors, for its checkpoint. In a group of several they are slices
   * (new tensors the caller disposes); for a trial alone, the state vectors themselves.
   */
  save(trial: number): { steps: number; slots: Tensor[] };
  /** Trial k continues from a saved state (copied); in a group of several, before its first step. */
  restore(steps: number, slots: Float32Array[], trial: number): void;
  dispose(): void;
}

export interface Optimizer {
  /** Applies one update to each variable from its gradient (same order as the variables). */
  step(variables: Variable[], grads: Tensor[], lr: number): void;
  /** The steps taken and the rule's state vectors (none before the first step), for a checkpoint. */
  save(): { steps: number; slots: Tensor[] };
  /** Continues from a saved state: `slots` as `save` gave them (copied). */
  restore(steps: number, slots: Float32Array[]): void;
  dispose(): void;
}

/**
 * A rule's number for each trial of a group (trials trained as one computation, each with its own
 * settings): the number itself where every trial has the same (always for a trial alone, so it
 * computes exactly as it always has), else a vector over the flat weights with each trial's number
 * along its own weights. Elementwise float32 arithmetic with a trial's number gives the same bits
 * whether the number comes alone or in a vector, so a trial's update does not depend on its group.
 */
export interface PerTrial {
  /** `values[k]` for trial k's weights. */
  value(values: number[]): number | Tensor;
  /** `ifTrue()` for the trials whose flag is set, `ifFalse()` for the others (each computed only if some trial needs it). */
  choose(flags: boolean[], ifTrue: () => Tensor, ifFalse: () => Tensor): Tensor;
}

/**
 * One step of a rule over every variable of every trial of a group at once. The gradients (and,
 * for rules that need them, the weights) are concatenated into one vector, the rule runs on that,
 * and each variable takes its slice of the result: a dozen kernels per step instead of a dozen per
 * variable (LeNet has ten variables, and on wasm a small kernel costs more in bookkeeping than in
 * arithmetic), and a dozen for the whole group rather than a dozen per trial.
 */
class FlatStep {
  /** The rule's state vectors (momentum, moments…), one element per weight, made on the first step. */
  private slots: Variable[] = [];
  /** Each trial's number of weights, in the order of the flat vectors (known at the first step or restore). */
  private sizes: number[] = [];
  /** Trial k's slots restored before the flat vectors exist. */
  private restored = new Map<number, Float32Array[]>();

  /** Steps taken by each trial: Adam's bias correction counts them. */
  readonly steps: number[];
  /** As many state vectors as the trial that keeps most (SGD keeps none without momentum). */
  private readonly count: number;

  /** `counts[k]`: the state vectors trial k's rule keeps (its checkpoint holds those). */
  constructor(private readonly counts: number[]) {
    this.steps = new Array<number>(counts.length).fill(0);
    this.count = Math.max(...counts);
  }

  /** `rule(g, w, slots, per)` returns the vector to subtract from the weights (learning rate included). */
  run(vars: Variable[][], grads: Tensor[][], rule: (g: Tensor, w: () => Tensor, slots: Variable[], per: PerTrial) => Tensor): void {
    this.steps.forEach((_, k) => this.steps[k]++);
    tidy(() => {
      this.sizes = vars.map((vs) => vs.reduce((n, v) => n + v.size, 0));
      const g = concat(grads.flat().map((t) => reshape(t, [-1])));
      if (!this.slots.length) this.makeSlots();
      let w: Tensor | undefined;
      const weights = () => (w ??= concat(vars.flat().map((v) => reshape(v, [-1]))));
      const delta = rule(g, weights, this.slots, this.perTrial());
      let offset = 0;
      for (const v of vars.flat()) {
        v.assign(sub(v, reshape(slice(delta, offset, v.size), v.shape)));
        offset += v.size;
      }
    });
  }

  private perTrial(): PerTrial {
    const sizes = this.sizes;
    const spread = (values: number[], array: Float32Array | Uint8Array) => {
      let offset = 0;
      values.forEach((x, k) => {
        array.fill(x, offset, offset + sizes[k]);
        offset += sizes[k];
      });
      return array;
    };
    const total = sizes.reduce((a, b) => a + b, 0);
    return {
      value: (values) => (values.every((x) => x === values[0]) ? values[0] : tensor1d(spread(values, new Float32Array(total)))),
      choose: (flags, ifTrue, ifFalse) => {
        if (flags.every((f) => f)) return ifTrue();
        if (!flags.some((f) => f)) return ifFalse();
        return where(tensor1d(spread(flags.map(Number), new Uint8Array(total)), 'bool'), ifTrue(), ifFalse());
      },
    };
  }

  /** The flat state vectors: zeros, with any trial's restored slots in its place. */
  private makeSlots(): void {
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.slots = Array.from({ length: this.count }, (_, i) => {
      const values = new Float32Array(total);
      let offset = 0;
      this.sizes.forEach((size, k) => {
        const part = this.restored.get(k)?.[i];
        if (part) values.set(part, offset);
        offset += size;
      });
      return tidy(() => tensor1d(values).variable(false));
    });
    this.restored.clear();
  }

  /** Trial k's steps and state vectors: for a trial alone, the vectors themselves (not copies). */
  save(trial = 0): { steps: number; slots: Tensor[] } {
    if (this.steps.length === 1) return { steps: this.steps[0], slots: this.slots };
    const offset = this.sizes.slice(0, trial).reduce((a, b) => a + b, 0);
    return { steps: this.steps[trial], slots: this.slots.slice(0, this.counts[trial]).map((slot) => slice(slot, offset, this.sizes[trial])) };
  }

  /** Trial k continues from a saved state: `slots` as `save` gave them (copied), before the group's first step. */
  restore(steps: number, slots: Float32Array[], trial = 0): void {
    const keeps = this.counts[trial];
    if (slots.length && slots.length !== keeps) throw new Error(`the checkpoint has ${slots.length} optimizer state vectors, this optimizer keeps ${keeps}`);
    this.steps[trial] = steps;
    if (this.steps.length === 1) {
      this.dispose();
      this.slots = slots.map((values) => tidy(() => tensor1d(values).variable(false)));
      return;
    }
    if (this.slots.length) throw new Error('a trial of a group is restored before the group trains');
    if (slots.length) this.restored.set(trial, slots);
  }

  dispose(): void {
    dispose(this.slots);
    this.slots = [];
  }
}

/** An optimizer's checkpoint methods, from its FlatStep. */
const stateOf = (flat: FlatStep): Pick<GroupOptimizer, 'save' | 'restore' | 'dispose'> => ({
  save: (trial) => flat.save(trial),
  restore: (steps, slots, trial) => flat.restore(steps, slots, trial),
  dispose: () => flat.dispose(),
});

/** The gradient with L2 weight decay folded in (coupled decay, as torch.optim does by default). */
function decayed(g: Tensor, w: () => Tensor, cs: OptimizerConfig[], per: PerTrial): Tensor {
  return per.choose(cs.map((c) => c.weight_decay > 0), () => add(g, mul(w(), per.value(cs.map((c) => c.weight_decay)))), () => g);
}

/** SGD's momentum when the file gives none: the classic 0.9 (torch.optim's default is 0). */
export const SGD_MOMENTUM = 0.9;

function sgd(cs: OptimizerConfig[]): GroupOptimizer {
  const momenta = cs.map((c) => c.momentum ?? SGD_MOMENTUM);
  const flat = new FlatStep(momenta.map((m) => (m > 0 ? 1 : 0)));
  return {
    step(vars, grads, lrs) {
      flat.run(vars, grads, (grad, w, [buf], per) => {
        const g = decayed(grad, w, cs, per);
        const moved = () => {
          // Trials without momentum keep their gradient (their part of buf, unused, is never saved).
          buf.assign(add(mul(buf, per.value(momenta)), g));
          return per.choose(cs.map((c) => c.nesterov), () => add(g, mul(buf, per.value(momenta))), () => buf);
        };
        return mul(buf ? per.choose(momenta.map((m) => m > 0), moved, () => g) : g, per.value(lrs));
      });
    },
    ...stateOf(flat),
  };
}

/** Adam, AdamW (decoupled decay) and RAdam share their moment estimates. */
function adamFamily(cs: OptimizerConfig[], kind: 'adam' | 'adamw' | 'radam'): GroupOptimizer {
  const flat = new FlatStep(cs.map(() => 2));
  const b1 = cs.map((c) => c.beta1);
  const b2 = cs.map((c) => c.beta2);
  return {
    step(vars, grads, lrs) {
      // Each trial's own step count: one that joined the group later has taken fewer.
      const terms = cs.map((c, k) => {
        const t = flat.steps[k] + 1;
        const bc1 = 1 - c.beta1 ** t;
        const bc2 = 1 - c.beta2 ** t;
        // RAdam: the variance of the adaptive rate is tractable only once rho_t > 5.
        const rhoInf = 2 / (1 - c.beta2) - 1;
        const rhoT = rhoInf - (2 * t * c.beta2 ** t) / bc2;
        const rectified = kind !== 'radam' || rhoT > 5;
        const rect = kind === 'radam' && rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 1;
        return { bc1, bc2, rectified, rect, lr: lrs[k], eps: c.epsilon };
      });
      flat.run(vars, grads, (grad, w, [m, s], per) => {
        const g = kind === 'adamw' ? grad : decayed(grad, w, cs, per);
        m.assign(add(mul(m, per.value(b1)), mul(g, per.value(b1.map((b) => 1 - b)))));
        s.assign(add(mul(s, per.value(b2)), mul(square(g), per.value(b2.map((b) => 1 - b)))));
        // The bias correction and the learning rate fold into one factor of m.
        // torch.optim puts epsilon after the bias correction in Adam, before it in RAdam.
        const eps = per.value(terms.map((x) => x.eps));
        const update = per.choose(
          terms.map((x) => x.rectified),
          () =>
            kind === 'radam'
              ? div(mul(m, per.value(terms.map((x) => (x.lr * x.rect * Math.sqrt(x.bc2)) / x.bc1))), add(sqrt(s), eps))
              : div(mul(m, per.value(terms.map((x) => x.lr / x.bc1))), add(div(sqrt(s), per.value(terms.map((x) => Math.sqrt(x.bc2)))), eps)),
          () => mul(m, per.value(terms.map((x) => x.lr / x.bc1))),
        );
        // AdamW decays the weights themselves, by lr·weight_decay, before the update.
        if (kind !== 'adamw') return update;
        return per.choose(cs.map((c) => c.weight_decay > 0), () => add(update, mul(w(), per.value(cs.map((c, k) => lrs[k] * c.weight_decay)))), () => update);
      });
    },
    ...stateOf(flat),
  };
}

function rmsprop(cs: OptimizerConfig[]): GroupOptimizer {
  const momenta = cs.map((c) => c.momentum ?? 0);
  const flat = new FlatStep(cs.map(() => 2));
  return {
    step(vars, grads, lrs) {
      flat.run(vars, grads, (grad, w, [sq, buf], per) => {
        const g = decayed(grad, w, cs, per);
        sq.assign(add(mul(sq, per.value(cs.map((c) => c.alpha))), mul(square(g), per.value(cs.map((c) => 1 - c.alpha)))));
        const update = div(g, add(sqrt(sq), per.value(cs.map((c) => c.epsilon))));
        const moving = momenta.map((m) => m > 0);
        const moved = () => {
          // Trials without momentum keep their part of buf as it was (zeros), as alone.
          buf.assign(per.choose(moving, () => add(mul(buf, per.value(momenta)), update), () => buf));
          return buf;
        };
        return mul(per.choose(moving, moved, () => update), per.value(lrs));
      });
    },
    ...stateOf(flat),
  };
}

function adagrad(cs: OptimizerConfig[]): GroupOptimizer {
  const flat = new FlatStep(cs.map(() => 1));
  return {
    step(vars, grads, lrs) {
      flat.run(vars, grads, (grad, w, [sum], per) => {
        const g = decayed(grad, w, cs, per);
        sum.assign(add(sum, square(g)));
        return mul(div(g, add(sqrt(sum), per.value(cs.map((c) => c.epsilon)))), per.value(lrs));
      });
    },
    ...stateOf(flat),
  };
}

/**
 * What must be equal for trials to share one optimizer: its rule (the state vectors it keeps).
 * Everything else (rates, betas, momentum, decay, epsilon…) may differ from trial to trial.
 */
export const optimizerGroupKey = (c: OptimizerConfig): string => c.name;

/**
 * One optimizer for a group of trials trained as one computation, `configs[k]` trial k's: one
 * flat step for all of them, each trial's weights updated as its own optimizer would update them
 * alone, bit for bit. Their rules must be the same (optimizerGroupKey).
 */
export function buildGroupOptimizer(configs: OptimizerConfig[]): GroupOptimizer {
  const name = configs[0].name;
  if (configs.some((c) => optimizerGroupKey(c) !== optimizerGroupKey(configs[0]))) throw new Error(`one optimizer for trials of different rules (${[...new Set(configs.map((c) => c.name))].join(', ')})`);
  switch (name) {
    case 'sgd':
      return sgd(configs);
    case 'adam':
    case 'adamw':
    case 'radam':
      return adamFamily(configs, name);
    case 'rmsprop':
      return rmsprop(configs);
    case 'adagrad':
      return adagrad(configs);
  }
}

/** The optimizer of a trial alone: a group of one. */
export function buildOptimizer(config: OptimizerConfig): Optimizer {
  const group = buildGroupOptimizer([config]);
  return {
    step: (variables, grads, lr) => group.step([variables], [grads], [lr]),
    save: () => group.save(0),
    restore: (steps, slots) => group.restore(steps, slots, 0),
    dispose: () => group.dispose(),
  };
}

/**
 * Scales the gradients so that their global L2 norm is at most maxNorm (as
 * torch.nn.utils.clip_grad_norm_); returns them unchanged when maxNorm is 0.
 */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number): Tensor[] {
  if (maxNorm <= 0) return grads;
  return tidy(() => {
    const total = sqrt(grads.map((g) => sum(square(g))).reduce((a, b) => add(a, b)) as Scalar);
    const coef = minimum(div(scalar(maxNorm), add(total, 1e-6)), 1);
    return grads.map((g) => mul(g, coef));
  });
}
