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
  zerosLike,
  type Scalar,
  type Tensor,
  type Variable,
} from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';

export type OptimizerConfig = Experiment['optimizer'];

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
 * One step of a rule over every variable at once. The gradients (and, for rules that need them,
 * the weights) are concatenated into one vector, the rule runs on that, and each variable takes
 * its slice of the result: a dozen kernels per step instead of a dozen per variable (LeNet has
 * ten variables, and on wasm a small kernel costs more in bookkeeping than in arithmetic).
 */
class FlatStep {
  /** The rule's state vectors (momentum, moments…), one element per weight, made on the first step. */
  private slots: Variable[] = [];

  /** Steps taken: Adam's bias correction counts them. */
  steps = 0;

  constructor(private readonly count: number) {}

  /** `rule(g, w, slots)` returns the vector to subtract from the weights (learning rate included). */
  run(vars: Variable[], grads: Tensor[], rule: (g: Tensor, w: () => Tensor, slots: Variable[]) => Tensor): void {
    this.steps++;
    tidy(() => {
      const g = concat(grads.map((t) => reshape(t, [-1])));
      if (!this.slots.length) this.slots = Array.from({ length: this.count }, () => tidy(() => zerosLike(g).variable(false)));
      let w: Tensor | undefined;
      const weights = () => (w ??= concat(vars.map((v) => reshape(v, [-1]))));
      const delta = rule(g, weights, this.slots);
      let offset = 0;
      for (const v of vars) {
        v.assign(sub(v, reshape(slice(delta, offset, v.size), v.shape)));
        offset += v.size;
      }
    });
  }

  save(): { steps: number; slots: Tensor[] } {
    return { steps: this.steps, slots: this.slots };
  }

  restore(steps: number, slots: Float32Array[]): void {
    if (slots.length && slots.length !== this.count) throw new Error(`the checkpoint has ${slots.length} optimizer state vectors, this optimizer keeps ${this.count}`);
    this.dispose();
    this.steps = steps;
    this.slots = slots.map((values) => tidy(() => tensor1d(values).variable(false)));
  }

  dispose(): void {
    dispose(this.slots);
    this.slots = [];
  }
}

/** An optimizer's checkpoint methods, from its FlatStep. */
const stateOf = (flat: FlatStep): Pick<Optimizer, 'save' | 'restore' | 'dispose'> => ({
  save: () => flat.save(),
  restore: (steps, slots) => flat.restore(steps, slots),
  dispose: () => flat.dispose(),
});

/** The gradient with L2 weight decay folded in (coupled decay, as torch.optim does by default). */
function decayed(g: Tensor, w: () => Tensor, weightDecay: number): Tensor {
  return weightDecay > 0 ? add(g, mul(w(), weightDecay)) : g;
}

/** SGD's momentum when the file gives none: the classic 0.9 (torch.optim's default is 0). */
export const SGD_MOMENTUM = 0.9;

function sgd(c: OptimizerConfig): Optimizer {
  const momentum = c.momentum ?? SGD_MOMENTUM;
  const flat = new FlatStep(momentum > 0 ? 1 : 0);
  return {
    step(vars, grads, lr) {
      flat.run(vars, grads, (grad, w, [buf]) => {
        let g = decayed(grad, w, c.weight_decay);
        if (momentum > 0) {
          buf.assign(add(mul(buf, momentum), g));
          g = c.nesterov ? add(g, mul(buf, momentum)) : buf;
        }
        return mul(g, lr);
      });
    },
    ...stateOf(flat),
  };
}

/** Adam, AdamW (decoupled decay) and RAdam share their moment estimates. */
function adamFamily(c: OptimizerConfig, kind: 'adam' | 'adamw' | 'radam'): Optimizer {
  const flat = new FlatStep(2);
  const { beta1: b1, beta2: b2, epsilon: eps } = c;
  return {
    step(vars, grads, lr) {
      const t = flat.steps + 1;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      // RAdam: the variance of the adaptive rate is tractable only once rho_t > 5.
      const rhoInf = 2 / (1 - b2) - 1;
      const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
      const rectified = kind !== 'radam' || rhoT > 5;
      const rect = kind === 'radam' && rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 1;
      flat.run(vars, grads, (grad, w, [m, s]) => {
        const g = kind === 'adamw' ? grad : decayed(grad, w, c.weight_decay);
        m.assign(add(mul(m, b1), mul(g, 1 - b1)));
        s.assign(add(mul(s, b2), mul(square(g), 1 - b2)));
        // The bias correction and the learning rate fold into one factor of m.
        // torch.optim puts epsilon after the bias correction in Adam, before it in RAdam.
        const update = !rectified
          ? mul(m, lr / bc1)
          : kind === 'radam'
            ? div(mul(m, (lr * rect * Math.sqrt(bc2)) / bc1), add(sqrt(s), eps))
            : div(mul(m, lr / bc1), add(div(sqrt(s), Math.sqrt(bc2)), eps));
        // AdamW decays the weights themselves, by lr·weight_decay, before the update.
        return kind === 'adamw' && c.weight_decay > 0 ? add(update, mul(w(), lr * c.weight_decay)) : update;
      });
    },
    ...stateOf(flat),
  };
}

function rmsprop(c: OptimizerConfig): Optimizer {
  const momentum = c.momentum ?? 0;
  const flat = new FlatStep(2);
  return {
    step(vars, grads, lr) {
      flat.run(vars, grads, (grad, w, [sq, buf]) => {
        const g = decayed(grad, w, c.weight_decay);
        sq.assign(add(mul(sq, c.alpha), mul(square(g), 1 - c.alpha)));
        let update = div(g, add(sqrt(sq), c.epsilon));
        if (momentum > 0) {
          buf.assign(add(mul(buf, momentum), update));
          update = buf;
        }
        return mul(update, lr);
      });
    },
    ...stateOf(flat),
  };
}

function adagrad(c: OptimizerConfig): Optimizer {
  const flat = new FlatStep(1);
  return {
    step(vars, grads, lr) {
      flat.run(vars, grads, (grad, w, [sum]) => {
        const g = decayed(grad, w, c.weight_decay);
        sum.assign(add(sum, square(g)));
        return mul(div(g, add(sqrt(sum), c.epsilon)), lr);
      });
    },
    ...stateOf(flat),
  };
}

export function buildOptimizer(config: OptimizerConfig): Optimizer {
  switch (config.name) {
    case 'sgd':
      return sgd(config);
    case 'adam':
    case 'adamw':
    case 'radam':
      return adamFamily(config, config.name);
    case 'rmsprop':
      return rmsprop(config);
    case 'adagrad':
      return adagrad(config);
  }
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
